#!/usr/bin/env node
// npm install hook. Uses a matching prebuild when one loads; otherwise compiles the CPU addon from
// binding.gyp, showing its progress. It never fails the install: when the addon cannot be built it
// records why in install-failure.json, and require('cfkit') and `cfkit doctor` repeat the reason
// with the fix for this distribution. In a development checkout (a .git folder) it does nothing:
// developers build with `npm run build`.
//
// npm (7 and later) shows an install script's output only when the script fails or with
// --foreground-scripts, so progress also goes to the terminal itself (/dev/tty) when there is one.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const logFile = path.join(root, 'install.log');
// Loaded after the development-checkout check below: a fresh clone has no dist/ yet.
let detectDistro, installFix, record, diagnoseBuildLog;

let tty = null;
if (!process.stderr.isTTY) {
  try {
    tty = fs.openSync('/dev/tty', 'w');
  } catch {
    tty = null;  // no controlling terminal (CI, Docker build): stderr only
  }
}
function say(line) {
  process.stderr.write(`cfkit: ${line}\n`);
  if (tty !== null) {
    try {
      fs.writeSync(tty, `cfkit: ${line}\n`);
    } catch {
      tty = null;
    }
  }
}

function prebuildLoads() {
  try {
    require('node-gyp-build')(root);
    return true;
  } catch {
    return false;
  }
}

function recordFailure(reason, logTail) {
  const log = fs.existsSync(logFile) ? logFile : undefined;
  const entry = { reason, time: new Date().toISOString(), platform: `${process.platform}-${process.arch}`, node: process.version, log, logTail };
  try {
    fs.writeFileSync(record, JSON.stringify(entry, null, 2) + '\n');
  } catch {
    // A read-only install folder: the message below is all the user gets.
  }
  say(`could not build the native addon: ${reason}`);
  if (logTail.length) {
    say(`last lines of ${logFile}:`);
    for (const line of logTail) say(`  ${line}`);
  }
  say(`the install continues, but require('cfkit') will fail until this is fixed. On ${detectDistro().name}:`);
  for (const cmd of installFix()) say(`  ${cmd}`);
  say("then check with 'npx cfkit doctor'");
}

function findCompiler() {
  const candidates = process.env.CXX ? [process.env.CXX.split(/\s+/)[0]] : ['g++', 'c++', 'clang++'];
  for (const c of candidates) {
    const r = spawnSync(c, ['--version'], { stdio: 'ignore' });
    if (!r.error && r.status === 0) return c;
  }
  return null;
}

function main() {
  if (fs.existsSync(path.join(root, '.git'))) return;
  if (process.env.CFKIT_SKIP_BUILD === '1') return;
  const systemPackages = require('../dist/system-packages.js');
  ({ detectDistro, installFix, diagnoseBuildLog } = systemPackages);
  record = systemPackages.installRecordPath(root);
  fs.rmSync(logFile, { force: true });  // a log from an earlier attempt
  if (prebuildLoads()) {
    fs.rmSync(record, { force: true });
    return;
  }
  say(`no prebuilt addon loads on ${process.platform}-${process.arch} (${detectDistro().name}); compiling it from source`);
  const compiler = findCompiler();
  if (!compiler) {
    recordFailure(`no C++ compiler found (looked for ${process.env.CXX ? `$CXX=${process.env.CXX}` : 'g++, c++ and clang++'})`, []);
    return;
  }
  const sources = JSON.parse(fs.readFileSync(path.join(root, 'sources.json'), 'utf8'));
  const total = sources.core.length + sources.addon.length;
  const nodeGyp = process.env.npm_config_node_gyp;
  const gypArgs = ['rebuild', '--jobs=max'];
  // Node's own headers, where the installation has them (official tarballs, nvm, distribution
  // packages), so node-gyp need not download them.
  const nodeDir = path.resolve(process.execPath, '..', '..');
  if (!process.env.npm_config_nodedir && fs.existsSync(path.join(nodeDir, 'include', 'node', 'common.gypi'))) gypArgs.push(`--nodedir=${nodeDir}`);
  const [cmd, args] = nodeGyp ? [process.execPath, [nodeGyp, ...gypArgs]] : ['node-gyp', gypArgs];
  const log = fs.createWriteStream(logFile);
  const started = Date.now();
  let compiled = 0;
  let lastShown = 0;
  let tail = [];
  const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], shell: !nodeGyp });
  const onData = (chunk) => {
    log.write(chunk);
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > 40) tail = tail.slice(-20);
      const file = /CXX\(target\) \S*?obj\.target\/cfkit\/(\S+)\.o/.exec(line)?.[1];
      if (file) {
        compiled++;
        // A line every few seconds, not one per file.
        if (Date.now() - lastShown > 3000 || compiled === total) {
          lastShown = Date.now();
          say(`compiling ${compiled}/${total}: ${file}.cpp`);
        }
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  child.on('error', (err) => {
    log.end();
    recordFailure(`could not run node-gyp: ${err.message}`, []);
  });
  child.on('close', (code) => {
    log.end(() => {
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      if (code === 0 && prebuildLoads()) {
        fs.rmSync(record, { force: true });
        say(`built the addon from source in ${seconds} s (log: ${logFile})`);
        return;
      }
      const text = fs.readFileSync(logFile, 'utf8');
      const reason = code === 0 ? 'the addon was built but does not load' : diagnoseBuildLog(text) ?? `node-gyp rebuild exited with ${code}`;
      recordFailure(reason, tail.slice(-15));
    });
  });
}

main();
