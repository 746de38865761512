#!/usr/bin/env node
// Seeded random-mutation fuzzer over the data reader and the model container, against the built
// package (dist/). Each run mutates a valid input (byte flips, splices of hostile tokens, cuts and
// repeats; for model files also field-level edits of the header with its checksum recomputed, so
// the checks behind the checksum are reached), writes it to a temporary file and reads it. A run
// passes when the call succeeds or throws a CfkitError; anything else is a finding, kept with its
// seed and input.
//   node test/fuzz/fuzzer.js [--seconds 60] [--seed 1] [--out DIR]   (npm run fuzz -- --seconds 600)
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');

const cfkit = require(path.join(__dirname, '..', '..', 'dist'));

function rng(seed) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (a) => a[Math.floor(next() * a.length)] };
}

const TOKENS = ['NaN', 'Infinity', '-Infinity', '1e309', '-1', '0', '2147483647', '2147483648', '99999999999999999999', '\n', '\r\n', ',', '\t', '::', ' ', '"', '\u0000', '\uFFFD', 'user,item,rating', '1.5', '-0', '0x10', '  '];
const DATA_SEEDS = [
  ['csv', 'userId,movieId,rating,timestamp\n1,10,4,100\n1,11,5,101\n2,10,3,102\n2,12,1,103\n3,11,2,104\n'],
  ['csv', '1,10,4\n1,11,5\n2,10,3\n2,12,1\n3,11,2\n'],
  ['movielens', '1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n2::3408::4::978300275\n'],
  ['tsv', 'u1\ti1\t4\nu1\ti2\t5\nu2\ti1\t3\nu3\ti3\t2\n'],
  ['lightgcn', '0 1 2 3\n1 0 2\n2 3\n3 0 1 2 3\n'],
];

function mutateBytes(buf, r) {
  let b = Buffer.from(buf);
  const rounds = 1 + r.int(4);
  for (let k = 0; k < rounds; k++) {
    const at = b.length ? r.int(b.length) : 0;
    switch (r.int(7)) {
      case 0: if (b.length) b[at] ^= 1 << r.int(8); break;
      case 1: if (b.length) b[at] = r.pick([0, 0xff, 0x0a, 0x2c, 0x3a, 0x2d, 0x39, 0x4e, 0x20, 0x09]); break;
      case 2: b = Buffer.concat([b.subarray(0, at), Buffer.from(r.pick(TOKENS)), b.subarray(at)]); break;
      case 3: b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + r.int(16)))]); break;
      case 4: b = b.subarray(0, at); break;
      case 5: { const len = 1 + r.int(32); b = Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]); break; }
      default: b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + r.int(8) }, () => r.int(256))), b.subarray(at)]);
    }
  }
  return b;
}

const HOSTILE_VALUES = [-1, 0, 1, 1e9, 2 ** 31, 2 ** 53, -(2 ** 31), 1e308, 0.5, 'NaN', 'constructor', '__proto__', null, [], {}, true];

/** Edits one field of the header JSON (a section entry, a parameter, the type) and re-signs the header. */
function mutateHeader(buf, r) {
  const hlen = buf.readUInt32LE(12);
  let header;
  try {
    header = JSON.parse(buf.subarray(20, 20 + hlen).toString('utf8'));
  } catch {
    return mutateBytes(buf, r);
  }
  const where = r.int(4);
  if (where === 0 && header.sections?.length) {
    const s = r.pick(header.sections);
    const key = r.pick(['name', 'dtype', 'length', 'offset', 'bytes', 'crc32']);
    s[key] = r.next() < 0.5 && typeof s[key] === 'number' ? s[key] + r.pick([-8, -1, 1, 8, 4096]) : r.pick(HOSTILE_VALUES);
  } else if (where === 1 && header.sections?.length) {
    const a = r.pick(header.sections), b = r.pick(header.sections);
    Object.assign(a, { offset: b.offset, bytes: b.bytes, length: b.length, dtype: b.dtype, crc32: b.crc32 }); // an alias
  } else if (where === 2) {
    header.type = r.pick(['ease', 'sansa', 'infae', 'mf', 'constructor', 'toString', '', 42]);
  } else {
    const params = header.params ?? (header.params = {});
    const keys = Object.keys(params);
    const key = keys.length && r.next() < 0.8 ? r.pick(keys) : r.pick(['factors', 'l2', 'foldInL2', 'lambda', 'dtype']);
    params[key] = r.pick(HOSTILE_VALUES);
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  if (json.length <= hlen) json = Buffer.concat([json, Buffer.alloc(hlen - json.length, 0x20)]);
  else return mutateBytes(buf, r); // a longer header would move the payloads; fall back to bytes
  const out = Buffer.from(buf);
  json.copy(out, 20);
  out.writeUInt32LE(zlib.crc32(json) >>> 0, 16);
  return out;
}

async function modelSeeds(dir) {
  const data = cfkit.syntheticInteractions({ users: 60, items: 20, meanInteractions: 5, seed: 9 });
  const ratings = cfkit.Interactions.fromArrays({ users: [0, 0, 1, 1, 2, 2, 3], items: [0, 1, 1, 2, 0, 2, 1], values: [4, 3, 5, 2, 1, 4, 3] });
  const models = [
    await cfkit.EASE.fit(data, { l2: 10 }),
    await cfkit.SANSA.fit(data, { l2: 10 }),
    await cfkit.InfiniteAE.fit(data, { lambda: 5 }),
    await cfkit.MatrixFactorization.fit(ratings, { factors: 4, epochs: 2 }),
  ];
  const seeds = [];
  for (const m of models) {
    const file = path.join(dir, `seed-${m.type}.cfk`);
    await m.save(file);
    m.dispose();
    seeds.push(fs.readFileSync(file));
  }
  return seeds;
}

/** Runs for `seconds`; returns {runs, findings, outcomes}, calling onFinding for each finding. */
async function runFuzz({ seconds = 30, seed = 1, out, onFinding } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfkit-fuzz-'));
  const r = rng(seed);
  const models = await modelSeeds(dir);
  const outcomes = {};
  const findings = [];
  const deadline = Date.now() + seconds * 1000;
  let runs = 0;
  try {
    while (Date.now() < deadline) {
      const model = r.next() < 0.5;
      let input, format;
      if (model) input = r.next() < 0.5 ? mutateHeader(r.pick(models), r) : mutateBytes(r.pick(models), r);
      else {
        const [fmt, text] = r.pick(DATA_SEEDS);
        input = mutateBytes(Buffer.from(text), r);
        format = r.next() < 0.5 ? 'auto' : fmt;
      }
      const file = path.join(dir, `input-${runs}`);
      fs.writeFileSync(file, input);
      let outcome;
      try {
        const v = model ? await cfkit.load(file) : await cfkit.Interactions.fromFile(file, { format, duplicates: 'last' });
        v.dispose?.();
        outcome = 'ok';
      } catch (err) {
        if (err instanceof cfkit.CfkitError) outcome = err.code;
        else {
          outcome = 'finding';
          const finding = { run: runs, seed, target: model ? 'load' : `fromFile(${format})`, error: `${err?.name}: ${err?.message}` };
          if (out) {
            fs.mkdirSync(out, { recursive: true });
            finding.file = path.join(out, `finding-${seed}-${runs}`);
            fs.writeFileSync(finding.file, input);
          }
          findings.push(finding);
          onFinding?.(finding);
        }
      }
      fs.rmSync(file, { force: true });
      const key = `${model ? 'load' : 'read'} ${outcome}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      runs++;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { runs, findings, outcomes };
}

module.exports = { runFuzz };

if (require.main === module) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const seconds = Number(arg('--seconds', '60'));
  const seed = Number(arg('--seed', '1'));
  runFuzz({ seconds, seed, out: arg('--out', 'fuzz-findings'), onFinding: (f) => console.log('finding:', JSON.stringify(f)) }).then((res) => {
    console.log(`fuzz: ${res.runs} runs in ${seconds} s (seed ${seed}), ${res.findings.length} findings; outcomes ${JSON.stringify(res.outcomes)}`);
    process.exitCode = res.findings.length ? 1 : 0;
  });
}
