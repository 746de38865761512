#!/usr/bin/env node
// Runs one case of the hostile-input corpus in this process and prints one JSON line:
// {ok: true} or {code, name, message}, plus the milliseconds it took. Used by corpus.test.ts, one
// child process per case, so a crash shows as a signal instead of taking the test run down.
//   node test/fuzz/run-case.js NAME
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const corpus = path.join(__dirname, 'corpus');
const cfkit = require(path.join(__dirname, '..', '..', 'dist'));
const { Interactions, MatrixFactorization, EASE, SANSA, InfiniteAE, syntheticInteractions } = cfkit;

const small = () => syntheticInteractions({ users: 80, items: 30, meanInteractions: 6, seed: 3 });
const ratings = () => Interactions.fromArrays({ users: [0, 0, 1, 1, 2, 2, 3], items: [0, 1, 1, 2, 0, 2, 1], values: [4, 3, 5, 2, 1, 4, 3] });
async function withEase(fn) {
  const m = await EASE.fit(small(), { l2: 10 });
  try {
    return await fn(m);
  } finally {
    m.dispose();
  }
}

const api = {
  'fromArrays-null': () => Interactions.fromArrays(null),
  'fromArrays-string-users': () => Interactions.fromArrays({ users: 'ab', items: [0, 1] }),
  'fromArrays-index-2147483646': () => Interactions.fromArrays({ users: [0, 2 ** 31 - 2], items: [0, 1] }),
  'fromArrays-numUsers-1e9': () => Interactions.fromArrays({ users: [0, 1], items: [0, 1] }, { numUsers: 1e9 }),
  'score-null': () => withEase((m) => m.score(null)),
  'recommendUsers-null': () => withEase((m) => m.recommendUsers(null)),
  'similarItems-null': () => withEase((m) => m.similarItems(null)),
  'mf-lr-1e10': () => MatrixFactorization.fit(ratings(), { factors: 8, epochs: 3, lr: { alpha: 1e10 } }),
  'mf-l2-1e30': () => MatrixFactorization.fit(ratings(), { factors: 8, epochs: 3, l2: 1e30 }),
  'mf-init-std-1e30': () => MatrixFactorization.fit(ratings(), { factors: 8, epochs: 3, init: { std: 1e30 } }),
  'sansa-cholmod-l2-1e39': () => SANSA.fit(small(), { l2: 1e39, factorizer: 'cholmod' }),
  'infae-lambda-1e39': () => InfiniteAE.fit(small(), { lambda: 1e39 }),
  'mf-threads-1000': () => {
    const n = 4400;
    const users = Array.from({ length: n }, (_, k) => k % 300);
    const items = Array.from({ length: n }, (_, k) => (k * 7 + Math.floor(k / 300)) % 150);
    const values = Array.from({ length: n }, (_, k) => 1 + (k % 5));
    return MatrixFactorization.fit(Interactions.fromArrays({ users, items, values }, { duplicates: 'last' }), { factors: 8, epochs: 3, threads: 1000 });
  },
  'load-directory': () => cfkit.load(corpus),
  'ease-fit-empty': async () => EASE.fit(await Interactions.fromFile(path.join(corpus, 'empty.csv')), { l2: 10 }),
};

async function run(c) {
  const at = (f) => (path.isAbsolute(f) ? f : path.join(corpus, f));
  switch (c.call) {
    case 'fromFile': return Interactions.fromFile(at(c.file), c.options ?? {});
    case 'formatOf': return (await cfkit.readInteractions(at(c.file), c.options ?? {})).stats.format;
    case 'load': return cfkit.load(at(c.file));
    case 'api': return api[c.name]();
    default: throw new Error(`unknown call ${c.call}`);
  }
}

(async () => {
  const name = process.argv[2];
  const c = JSON.parse(fs.readFileSync(path.join(corpus, 'cases.json'), 'utf8')).find((x) => x.name === name);
  if (!c) throw new Error(`no case named ${name}`);
  const t0 = performance.now();
  let result;
  try {
    const value = await run(c);
    result = { ok: true, value: typeof value === 'string' ? value : undefined };
    value?.dispose?.();
  } catch (err) {
    result = { ok: false, code: err instanceof cfkit.CfkitError ? err.code : null, name: err?.name, message: String(err?.message ?? err) };
  }
  process.stdout.write(JSON.stringify({ ...result, ms: Math.round(performance.now() - t0) }) + '\n');
})().catch((err) => {
  process.stdout.write(JSON.stringify({ ok: false, code: null, name: 'harness', message: String(err) }) + '\n');
});
