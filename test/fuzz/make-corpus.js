#!/usr/bin/env node
// Writes the hostile-input corpus into test/fuzz/corpus/: data files, crafted model files and
// cases.json, which lists every case (file or API call), the call to make and the CfkitError code
// it must give. Deterministic; rerun after changing a case:   node test/fuzz/make-corpus.js
// Needs dist/ (npm run build) for the one valid model that the crafted ones start from.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const here = __dirname;
const out = path.join(here, 'corpus');
const cfkit = require(path.join(here, '..', '..', 'dist'));

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
const cases = [];
const file = (name, content) => {
  fs.writeFileSync(path.join(out, name), content);
  return name;
};
const add = (c) => cases.push(c);

// --- data files -----------------------------------------------------------------------------------
add({ name: 'index-2147483646', call: 'fromFile', file: file('huge-index.txt', '0 1 2\n1 2147483646\n'), expect: 'E_INPUT', issue: 'a 19-byte LightGCN file sized every array by its largest index' });
add({ name: 'index-2147483646-csv', call: 'fromFile', file: file('huge-index.csv', '0,1,5\n2147483646,2,4\n'), options: { ids: 'index' }, expect: 'E_INPUT' });
add({ name: 'directory', call: 'fromFile', file: '.', expect: 'E_IO', issue: 'raw EISDIR' });
add({ name: 'missing-file', call: 'fromFile', file: 'no-such-file.csv', expect: 'E_IO' });
add({ name: 'dev-zero', call: 'fromFile', file: '/dev/zero', expect: 'E_FORMAT', issue: 'no line break: buffered for minutes' });
add({ name: 'long-line', call: 'fromFile', file: file('long-line.txt', '0 ' + '1 '.repeat(50000) + '\n'), options: { maxLineLength: 1000 }, expect: 'E_FORMAT' });
add({ name: 'nan-rating-first-row', call: 'fromFile', file: file('nan-first.csv', '1,2,NaN\n2,3,4\n3,4,5\n'), expect: 'E_FORMAT', issue: 'a headerless first row with NaN was taken for a header' });
add({ name: 'infinity-rating-first-row', call: 'fromFile', file: file('inf-first.csv', '1,2,Infinity\n2,3,4\n3,4,5\n'), expect: 'E_FORMAT' });
add({ name: 'nan-rating-second-row', call: 'fromFile', file: file('nan-second.csv', '1,2,3\n2,3,NaN\n'), expect: 'E_FORMAT' });
add({ name: 'csv-long-first-line', call: 'formatOf', file: file('long-header.csv', 'u' + 'x'.repeat(70000) + ',item,rating\n1,2,3\n2,3,4\n'), expect: 'csv', issue: 'a CSV whose first 64 KiB hold no separator passed for LightGCN' });
add({ name: 'binary-garbage', call: 'fromFile', file: file('garbage.bin', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 151 + 7) % 256))), expect: 'E_FORMAT' });
add({ name: 'negative-index', call: 'fromFile', file: file('negative.txt', '0 1\n-1 2\n'), expect: 'E_FORMAT' });
add({ name: 'empty-file', call: 'fromFile', file: file('empty.csv', ''), expect: 'ok' }); // empty data; fitting it is E_INPUT (ease-fit-empty)

// --- model files: one valid MF model, then crafted variants ----------------------------------------
const PREAMBLE = 20;
const align8 = (n) => Math.ceil(n / 8) * 8;
/** A container with the given header object and payload bytes at the given offsets (no checks). */
function rawModel(header, payloadAt) {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const pre = Buffer.alloc(PREAMBLE);
  Buffer.from('CFKITMDL', 'latin1').copy(pre, 0);
  pre.writeUInt32LE(1, 8);
  pre.writeUInt32LE(json.length, 12);
  pre.writeUInt32LE(zlib.crc32(json) >>> 0, 16);
  const end = Math.max(PREAMBLE + json.length, ...payloadAt.map(([off, b]) => off + b.length));
  const body = Buffer.alloc(align8(end));
  pre.copy(body, 0);
  json.copy(body, PREAMBLE);
  for (const [off, b] of payloadAt) b.copy(body, off);
  return Buffer.concat([body, Buffer.from('CFKITEND', 'latin1')]);
}
/** Header and payloads of a container whose header takes `reserve` bytes, sections laid out after it. */
function layout(type, params, sections, reserve) {
  let offset = align8(PREAMBLE + reserve);
  const table = [];
  const payloads = [];
  const placed = {};
  for (const s of sections) {
    // `at` places a section relative to earlier ones (overlaps); `offset` anywhere at all
    const at = s.at ? s.at(placed) : s.offset ?? offset;
    placed[s.name] = at;
    table.push({ name: s.name, dtype: s.dtype, length: s.length, offset: at, bytes: s.bytes.length, crc32: zlib.crc32(s.bytes) >>> 0 });
    if (s.offset === undefined && !s.at) {
      payloads.push([offset, s.bytes]);
      offset = align8(offset + s.bytes.length);
    }
  }
  return { header: { type, cfkitVersion: 'fuzz', params, meta: {}, sections: table }, payloads };
}
function crafted(type, params, sections) {
  // the header's size fixes the payload offsets: grow the reserve until the JSON fits in it
  for (let reserve = 256; ; reserve += 256) {
    const { header, payloads } = layout(type, params, sections, reserve);
    if (Buffer.byteLength(JSON.stringify(header)) <= reserve) return rawModel(header, payloads);
  }
}
const f32 = (n, v) => Buffer.from(new Float32Array(n).fill(v).buffer);
const jsonBytes = (v) => Buffer.from(JSON.stringify(v), 'utf8');

// 1,000 aliases of one 64 KiB payload: loading would allocate 64 MiB from a 200 KB file.
const alias = { name: 'p', dtype: 'f32', length: 16384, bytes: f32(16384, 0.5) };
const aliases = [alias, ...Array.from({ length: 999 }, (_, k) => ({ name: `alias${k}` }))];
{
  // every alias points at the first payload's offset
  let reserve = 256;
  let bytes;
  for (;;) {
    const first = align8(PREAMBLE + reserve);
    const table = aliases.map((s) => ({ name: s.name, dtype: 'f32', length: 16384, offset: first, bytes: alias.bytes.length, crc32: zlib.crc32(alias.bytes) >>> 0 }));
    const json = Buffer.from(JSON.stringify({ type: 'mf', cfkitVersion: 'fuzz', params: { factors: 8 }, meta: {}, sections: table }), 'utf8');
    if (json.length <= reserve) {
      bytes = rawModel(JSON.parse(json.toString()), [[first, alias.bytes]]);
      break;
    }
    reserve = json.length + 64;
  }
  add({ name: 'aliased-sections', call: 'load', file: file('aliased-sections.cfk', bytes), expect: 'E_FORMAT', issue: 'overlapping sections made load() allocate 1,000x the file' });
}
add({ name: 'overlapping-sections', call: 'load', file: file('overlap.cfk', crafted('ease', {}, [
  { name: 'a', dtype: 'f32', length: 4, bytes: f32(4, 1) },
  { name: 'b', dtype: 'f32', length: 2, bytes: f32(2, 1), at: (placed) => placed.a + 8 },
])), expect: 'E_FORMAT' });
add({ name: 'duplicate-section-names', call: 'load', file: file('duplicate-names.cfk', crafted('ease', {}, [
  { name: 'weights', dtype: 'f32', length: 4, bytes: f32(4, 1) },
  { name: 'weights', dtype: 'f32', length: 4, bytes: f32(4, 2) },
])), expect: 'E_FORMAT' });
add({ name: 'section-beyond-file', call: 'load', file: file('beyond.cfk', crafted('ease', {}, [{ name: 'w', dtype: 'f32', length: 4, bytes: f32(4, 1), offset: 1 << 30 }])), expect: 'E_FORMAT' });
add({ name: 'dtype-constructor', call: 'load', file: file('dtype-constructor.cfk', crafted('ease', {}, [{ name: 'w', dtype: 'constructor', length: 4, bytes: f32(4, 1) }])), expect: 'E_FORMAT' });
for (const t of ['constructor', 'toString', '__proto__', 'hasOwnProperty'])
  add({ name: `type-${t}`, call: 'load', file: file(`type-${t}.cfk`, crafted(t, {}, [])), expect: 'E_FORMAT', issue: 'the type lookup went through Object.prototype' });
add({ name: 'no-sections', call: 'load', file: file('no-sections.cfk', crafted('ease', {}, [])), expect: 'E_FORMAT' });

(async () => {
  // A valid MF model, then the same with a negative fold-in λ, a NaN mean and NaN factors.
  const ratings = cfkit.Interactions.fromArrays({ users: [0, 0, 1, 1, 2, 2], items: [0, 1, 1, 2, 0, 2], values: [4, 3, 5, 2, 1, 4] });
  const mf = await cfkit.MatrixFactorization.fit(ratings, { factors: 4, epochs: 2, seed: 1 });
  const valid = path.join(out, 'mf-valid.cfk');
  await mf.save(valid);
  mf.dispose();
  add({ name: 'mf-valid', call: 'load', file: 'mf-valid.cfk', expect: 'ok' });
  const container = require(path.join(here, '..', '..', 'dist', 'io', 'container'));
  const model = await container.readModelFile(valid);
  const rewrite = async (name, params, sections) => {
    const target = path.join(out, name);
    await container.writeModelFile(target, { type: model.type, cfkitVersion: model.cfkitVersion, params: { ...model.params, ...params }, meta: model.meta }, sections ?? [...model.sections]);
    return name;
  };
  add({ name: 'mf-negative-fold-in', call: 'load', file: await rewrite('mf-negative-fold-in.cfk', { foldInL2: -1 }), expect: 'E_FORMAT', issue: 'a negative fold-in λ made every score 0' });
  add({ name: 'mf-zero-fold-in', call: 'load', file: await rewrite('mf-zero-fold-in.cfk', { foldInL2: 0 }), expect: 'E_FORMAT' });
  add({ name: 'mf-nan-mean', call: 'load', file: await rewrite('mf-nan-mean.cfk', { info: { ...model.params.info, mean: 'NaN' } }), expect: 'E_FORMAT' });
  add({ name: 'mf-nan-factor', call: 'load', file: await rewrite('mf-nan-factor.cfk', {}, [...model.sections].map(([n, v]) => (n === 'p' ? [n, Float32Array.from(v, (x, i) => (i === 0 ? NaN : x))] : [n, v]))), expect: 'E_FORMAT' });
  const bytes = fs.readFileSync(valid);
  add({ name: 'mf-truncated', call: 'load', file: file('mf-truncated.cfk', bytes.subarray(0, bytes.length - 9)), expect: 'E_FORMAT' });
  const flipped = Buffer.from(bytes);
  flipped[bytes.length - 20] ^= 0x10;
  add({ name: 'mf-bit-flip', call: 'load', file: file('mf-bit-flip.cfk', flipped), expect: 'E_FORMAT' });

  // --- API calls (run-case.js knows each by name) ---------------------------------------------------
  for (const [name, expect, issue] of [
    ['fromArrays-null', 'E_INPUT', 'TypeError'],
    ['fromArrays-string-users', 'E_INPUT', 'silently accepted'],
    ['fromArrays-index-2147483646', 'E_INPUT', 'heap out of memory'],
    ['fromArrays-numUsers-1e9', 'E_INPUT', 'heap out of memory'],
    ['score-null', 'E_INPUT', 'TypeError'],
    ['recommendUsers-null', 'E_INPUT'],
    ['similarItems-null', 'E_INPUT'],
    ['mf-lr-1e10', 'E_NUMERIC', 'NaN factors, empty recommendations'],
    ['mf-l2-1e30', 'E_NUMERIC', 'NaN factors'],
    ['mf-init-std-1e30', 'E_NUMERIC', 'NaN factors'],
    ['sansa-cholmod-l2-1e39', 'E_INPUT', 'non-finite decoder'],
    ['infae-lambda-1e39', 'E_NUMERIC', 'every score 0'],
    ['mf-threads-1000', 'ok', 'took over 90 s'],
    ['load-directory', 'E_IO', 'raw EISDIR'],
    ['ease-fit-empty', 'E_INPUT'],
  ])
    add({ name, call: 'api', expect, ...(issue ? { issue } : {}) });

  fs.writeFileSync(path.join(out, 'cases.json'), JSON.stringify(cases, null, 1) + '\n');
  console.log(`wrote ${cases.length} cases to ${path.relative(process.cwd(), out)}`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
