// The arm64 check's workload, run by the same code on both machines: x86-64 Node on the working
// tree, and arm64 Node under qemu-aarch64 on a staged copy of the package with only the arm64
// prebuild. Usage: node workload.js PACKAGE_DIR OUT_DIR [OTHER_OUT_DIR]
// Fits EASE, SANSA (CHOLMOD and ICF) and MF on small synthetic data on one thread, recommends,
// saves each model, loads it back and recommends again; with OTHER_OUT_DIR it also loads the
// models the other machine saved. Prints one JSON object.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [pkg, out, other] = process.argv.slice(2);
const cfkit = require(path.resolve(pkg));
const { EASE, SANSA, MatrixFactorization, load, syntheticInteractions, backendInfo } = cfkit;

const users = Array.from({ length: 25 }, (_, u) => u);
const fits = {
  ease: (d) => EASE.fit(d, { l2: 30, threads: 1 }),
  sansaCholmod: (d) => SANSA.fit(d, { factorizer: 'cholmod', l2: 30, density: 0.2, threads: 1 }),
  sansaIcf: (d) => SANSA.fit(d, { factorizer: 'icf', l2: 30, density: 0.2, threads: 1 }),
  mf: (d) => MatrixFactorization.fit(d, { factors: 16, epochs: 8, seed: 3, threads: 1 }),
};

async function top(model) {
  const r = await model.recommendUsers(users, { k: 10, threads: 1 });
  return users.map((_, row) => ({ items: r.items(row), scores: r.scoresOf(row) }));
}

(async () => {
  fs.mkdirSync(out, { recursive: true });
  const implicit = syntheticInteractions({ users: 400, items: 150, seed: 5 });
  const ratings = syntheticInteractions({ users: 400, items: 150, seed: 5, ratings: true });
  const result = { arch: process.arch, node: process.version, simd: backendInfo().cpu.simd, models: {} };
  for (const [name, fit] of Object.entries(fits)) {
    const model = await fit(name === 'mf' ? ratings : implicit);
    const file = path.join(out, `${name}.cfk`);
    await model.save(file);
    const entry = { type: model.type, fitted: await top(model) };
    model.dispose();
    const reloaded = await load(file);
    entry.reloaded = await top(reloaded);
    reloaded.dispose();
    if (other) {
      const foreign = await load(path.join(other, `${name}.cfk`));
      entry.foreign = await top(foreign);
      foreign.dispose();
    }
    result.models[name] = entry;
  }
  process.stdout.write(JSON.stringify(result));
})().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
