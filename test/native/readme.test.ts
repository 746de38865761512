import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { syntheticInteractions } from '../../lib';
import { tmpDir } from '../helpers/data';

// The README's quick start, run as written (it is plain JavaScript too) on a generated MovieLens-style
// file, through the package's own entry point, so the front page stays true.
const root = path.resolve(__dirname, '..', '..');

test('the README quick start runs as written', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  expect(code).toBeDefined();
  expect(code!.trim().split('\n').length).toBeLessThanOrEqual(16);

  const dir = tmpDir('cfkit-readme-');
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'cfkit'));
  // Implicit synthetic data rated 4 or 5, plus a low rating per user that the threshold drops.
  const d = syntheticInteractions({ users: 600, items: 200, seed: 11 });
  const lines: string[] = [];
  for (let u = 0; u < d.numUsers; u++) {
    for (let p = d.indptr[u]; p < d.indptr[u + 1]; p++) lines.push(`${u + 1}::${d.indices[p] + 1}::${4 + (p % 2)}::${978300000 + p}`);
    lines.push(`${u + 1}::${((u * 7) % 200) + 1}::2::978299999`);
  }
  fs.writeFileSync(path.join(dir, 'ratings.dat'), lines.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'quickstart.mjs'), code!);

  const out = execFileSync(process.execPath, ['quickstart.mjs'], { cwd: dir, encoding: 'utf8' });
  expect(out).toMatch(/'recall@20': 0\.\d+/);
  expect(out).toMatch(/'ndcg@100': 0\.\d+/);
  expect(fs.existsSync(path.join(dir, 'model.cfk'))).toBe(true);
  // The known user's scores are real EASE scores; the last line is the visitor's five most popular items.
  const scores = /\] \[([\s\S]*?)\]/.exec(out)?.[1].split(',').map(Number) ?? [];
  expect(scores).toHaveLength(10);
  expect(scores.every((s) => s > 0)).toBe(true);
  expect(out.trim().split('\n').pop()).toMatch(/^\[ \d+, \d+, \d+, \d+, \d+ \]$/);
}, 60000);
