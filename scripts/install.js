#!/usr/bin/env node
// npm install hook. Uses a matching prebuild when one loads; otherwise compiles the CPU-only addon
// from binding.gyp. In a development checkout (a .git folder) it does nothing: developers build with
// `npm run build` (cmake-js, which also builds the CUDA backend). It never fails the install: if
// compiling is impossible, require('cfkit') later explains what is missing and how to fix it.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

function prebuildLoads() {
  try {
    require('node-gyp-build')(root);
    return true;
  } catch {
    return false;
  }
}

if (fs.existsSync(path.join(root, '.git'))) process.exit(0);
if (process.env.CFKIT_SKIP_BUILD === '1' || prebuildLoads()) process.exit(0);

console.error('cfkit: no prebuilt binary for this platform; compiling the CPU addon (needs g++, libsuitesparse-dev, libopenblas-dev)');
const nodeGyp = process.env.npm_config_node_gyp;
const r = nodeGyp
  ? spawnSync(process.execPath, [nodeGyp, 'rebuild'], { cwd: root, stdio: 'inherit' })
  : spawnSync('node-gyp', ['rebuild'], { cwd: root, stdio: 'inherit', shell: true });
if (r.status !== 0) {
  console.error(
    'cfkit: compiling the addon failed. Install a C++17 compiler, libsuitesparse-dev and libopenblas-dev, then run\n' +
      "  npm rebuild cfkit\nor run 'npx cfkit doctor' for details.",
  );
}
process.exit(0);
