#!/usr/bin/env node
// prebuildify has no cmake-js backend; it runs `<node-gyp> rebuild --target=V --devdir=D --arch=A
// --release`. This stand-in drops what Node-API builds do not need (target, devdir) and runs an
// incremental cmake-js build into build/Release, where prebuildify collects cfkit.node and every
// .so beside it (libcfkit_cuda.so).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const args = process.argv.slice(2);
const arch = (args.find((a) => a.startsWith('--arch=')) || '').slice('--arch='.length);
const debug = args.includes('--debug');
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const cmd = ['build', '--out', 'build'];
if (arch) cmd.push('--arch', arch);
if (debug) cmd.push('--debug');
const r = spawnSync(process.execPath, [cmakeJs, ...cmd], { stdio: 'inherit', cwd: path.join(__dirname, '..') });
process.exit(r.status === null ? 1 : r.status);
