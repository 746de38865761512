import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { compareResults, githubActionBenchmark, markdownTable } from '../../lib/bench/compare';
import { checkConfig } from '../../lib/bench/config';
import { sha256Data } from '../../lib/bench/data';
import type { BenchResults } from '../../lib/bench/run';
import type { ModelResult } from '../../lib/bench/child';
import { syntheticInteractions } from '../../lib';
import { tmpDir } from '../helpers/data';

const execFileP = promisify(execFile);
const cli = path.resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const broken = path.resolve(__dirname, '..', 'fixtures', 'broken-ease.js');

async function bench(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileP(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, maxBuffer: 1 << 24 });
    return { code: 0, ...r };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const synthetic = { users: 1500, items: 300, clusters: 8, meanInteractions: 25, seed: 5 };
const dataset = { name: 'toy', synthetic, split: { kind: 'holdout-users', testUsers: 300, seed: 1 } };

describe('cfkit bench', () => {
  const dir = tmpDir();
  const write = (name: string, config: unknown) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(config));
    return file;
  };

  test('a bad config exits 2 naming the JSON path of the bad field', async () => {
    const cases: [unknown, RegExp][] = [
      [{ datasets: [dataset], models: [{ type: 'ease', paramz: {} }], metrics: ['recall@20'] }, /\$\.models\[0\]\.paramz: is not a known field/],
      [{ datasets: [dataset], models: [{ type: 'knn' }], metrics: ['recall@20'] }, /\$\.models\[0\]\.type: must be one of/],
      [{ datasets: [{ ...dataset, split: { kind: 'random' } }], models: [{ type: 'ease' }], metrics: ['recall@20'] }, /\$\.datasets\[0\]\.split\.kind/],
      [{ datasets: [dataset], models: [{ type: 'ease' }], metrics: ['recall@20', 'recal@5'] }, /\$\.metrics\[1\]/],
      [{ datasets: [dataset], models: [{ type: 'ease', params: { l2: -1 } }], metrics: ['recall@20'] }, /\$\.models\[0\]\.params: ease on toy: l2 must be/],
      [{ datasets: [dataset, dataset], models: [{ type: 'ease' }], metrics: ['recall@20'] }, /\$\.datasets\[1\]\.name: repeats/],
    ];
    for (const [config, message] of cases) {
      const r = await bench(['bench', write('bad.json', config)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const notJson = path.join(dir, 'not.json');
    fs.writeFileSync(notJson, '{ "datasets": [');
    expect(await bench(['bench', notJson])).toMatchObject({ code: 2, stderr: expect.stringMatching(/bench config \$: is not valid JSON/) });
  });

  test('a baseline passes itself, and a broken model regresses with exit 1 and a table in the step summary', async () => {
    const good = write('good.json', { name: 'gate', datasets: [dataset], models: [{ type: 'ease', params: { l2: 50 } }], metrics: ['recall@20', 'ndcg@20'], threads: 2 });
    const baseline = path.join(dir, 'baseline.json');
    const results = path.join(dir, 'results.json');
    const first = await bench(['bench', good, '--save-baseline', baseline, '--quality-only', '-o', results]);
    expect(first.code).toBe(0);
    const saved = JSON.parse(fs.readFileSync(baseline, 'utf8')) as BenchResults;
    expect(saved.qualityOnly).toBe(true);
    expect(saved.results[0].fitSeconds).toBeUndefined();
    const full = JSON.parse(fs.readFileSync(results, 'utf8')) as BenchResults;
    expect(full.results[0]).toMatchObject({ dataset: 'toy', model: 'ease', type: 'ease', params: { l2: 50 }, fitSeconds: { runs: [expect.any(Number)] } });
    expect(full.results[0].peakRssMiB).toBeGreaterThan(10);
    expect(full.results[0].modelBytes).toBeGreaterThanOrEqual(300 * 300 * 4);
    expect(full.datasets[0]).toMatchObject({ name: 'toy', sha256: sha256Data(syntheticInteractions(synthetic)), split: { kind: 'holdout-users', testUsers: 300 } });

    const summary = path.join(dir, 'summary.md');
    const again = await bench(['bench', good, '--baseline', baseline], { GITHUB_STEP_SUMMARY: summary });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/No regressions/);
    expect(fs.readFileSync(summary, 'utf8')).toContain('| toy | ease | recall@20 |');

    // EASE without its zero-diagonal constraint (plain ridge regression), under EASE's name.
    const bad = write('bad-model.json', { name: 'gate', datasets: [dataset], models: [{ name: 'ease', type: 'custom', module: broken, params: { l2: 50 } }], metrics: ['recall@20', 'ndcg@20'] });
    const r = await bench(['bench', bad, '--baseline', baseline], { GITHUB_STEP_SUMMARY: summary });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\| toy \| ease \| ndcg@20 \| [\d.]+ \| [\d.]+ \| -0\.\d+ \(±[\d.]+\) \| \*\*REGRESSED\*\* \|/);
    expect(fs.readFileSync(summary, 'utf8').match(/### cfkit bench/g)).toHaveLength(2);
  }, 120_000);

  test('--format github-action-benchmark writes the two arrays', async () => {
    const config = write('gab.json', { datasets: [dataset], models: [{ type: 'sansa', params: { l2: 20 }, sweep: { density: [0.05, 0.2] } }], metrics: ['ndcg@10'] });
    const out = path.join(dir, 'gab');
    expect((await bench(['bench', config, '--format', 'github-action-benchmark', '-o', out])).code).toBe(0);
    const bigger = JSON.parse(fs.readFileSync(path.join(out, 'customBiggerIsBetter.json'), 'utf8'));
    const smaller = JSON.parse(fs.readFileSync(path.join(out, 'customSmallerIsBetter.json'), 'utf8'));
    expect(bigger.map((e: { name: string }) => e.name)).toEqual(['toy / sansa density=0.05 / ndcg@10', 'toy / sansa density=0.2 / ndcg@10']);
    expect(smaller.map((e: { unit: string }) => e.unit)).toEqual(['s', 'MiB', 'bytes', 's', 'MiB', 'bytes']);
  }, 60_000);

  test('a fixed test file and a ratings split with rmse are recorded with their checksums', async () => {
    const train = path.join(dir, 'train.txt');
    const test = path.join(dir, 'test.txt');
    const tr: string[] = [];
    const te: string[] = [];
    for (let u = 0; u < 400; u++) {
      const items = [...new Set(Array.from({ length: 12 }, (_, j) => (u * 7 + j * j * 3 + (u % 11) * j) % 90))];
      tr.push([u, ...items.slice(0, -2)].join(' '));
      te.push([u, ...items.slice(-2)].join(' '));
    }
    fs.writeFileSync(train, tr.join('\n') + '\n');
    fs.writeFileSync(test, te.join('\n') + '\n');
    const config = write('fixed.json', {
      datasets: [
        { name: 'lightgcn', file: 'train.txt', split: { kind: 'fixed', test: 'test.txt' } },
        { name: 'ratings', synthetic: { ...synthetic, ratings: true }, split: { kind: 'ratings', testFraction: 0.1 } },
      ],
      models: [
        { type: 'ease', params: { l2: 10 }, datasets: ['lightgcn'] },
        { type: 'mf', params: { factors: 8, epochs: 5 }, datasets: ['ratings'] },
      ],
      metrics: ['recall@10', 'rmse'],
    });
    const out = path.join(dir, 'fixed-results.json');
    expect((await bench(['bench', config, '-o', out])).code).toBe(0);
    const r = JSON.parse(fs.readFileSync(out, 'utf8')) as BenchResults;
    const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
    expect(r.datasets[0].source).toEqual({ file: train, bytes: fs.statSync(train).size, sha256: sha(train) });
    expect(r.datasets[0].split).toMatchObject({ kind: 'fixed', testUsers: 400, testSha256: sha(test) });
    expect(Object.keys(r.results[0].metrics)).toEqual(['recall@10']);
    expect(Object.keys(r.results[1].metrics).sort()).toEqual(['recall@10', 'rmse']);
    expect(r.results[1].metrics.rmse.mean).toBeGreaterThan(0.3);
    expect(r.results[1].metrics.rmse.stderr).toBeGreaterThan(0);
  }, 60_000);
});

describe('comparison rules', () => {
  const machine = { cpu: 'X', threads: 2, blasCore: 'Haswell', blas: '', device: 'cpu', platform: 'linux-x64', node: 'v20' };
  const result = (model: string, recall: number, se: number, seconds?: number, rmse?: number): ModelResult => ({
    dataset: 'd',
    model,
    type: 'ease',
    params: {},
    metrics: { 'recall@20': { mean: recall, stderr: se, n: 100 }, ...(rmse === undefined ? {} : { rmse: { mean: rmse, stderr: 0.001, n: 1000 } }) },
    ...(seconds === undefined ? {} : { fitSeconds: { median: seconds, runs: [seconds] } }),
  });
  const results = (rs: ModelResult[], m = machine): BenchResults =>
    ({ schema: 'cfkit-bench-results/1', cfkit: '0', createdAt: '', machine: m, metrics: ['recall@20'], repeats: 1, datasets: [], results: rs }) as BenchResults;

  test('quality regresses beyond max(2·SE of the difference, 0.002), or a tolerance given per metric', () => {
    const base = results([result('a', 0.4, 0.01), result('b', 0.4, 0), result('c', 0.4, 0.01, undefined, 0.8)]);
    // a: tolerance 2·√(0.01² + 0.01²) = 0.0283; b: the floor 0.002; c: rmse, lower is better.
    const now = results([result('a', 0.375, 0.01), result('b', 0.3975, 0), result('c', 0.45, 0.01, undefined, 0.81)]);
    const c = compareResults(now, base);
    const verdict = (model: string, measure: string) => c.rows.find((r) => r.model === model && r.measure === measure)!.verdict;
    expect(verdict('a', 'recall@20')).toBe('pass');
    expect(c.rows.find((r) => r.model === 'a')!.tolerance).toBeCloseTo(0.0283, 4);
    expect(verdict('b', 'recall@20')).toBe('regressed');
    expect(verdict('c', 'recall@20')).toBe('improved');
    expect(verdict('c', 'rmse')).toBe('regressed');
    expect(c.regressions).toBe(2);
    const strict = compareResults(now, base, { tolerances: { 'recall@20': 0.01 } });
    expect(strict.rows.find((r) => r.model === 'a' && r.measure === 'recall@20')!.verdict).toBe('regressed');
  });

  test('fit times are compared within the ratio on the same machine only; missing, failed and new models are reported', () => {
    const base = results([result('a', 0.4, 0.01, 10), result('b', 0.4, 0.01, 10), result('gone', 0.4, 0.01)]);
    const now = results([result('a', 0.4, 0.01, 12.9), result('b', 0.4, 0.01, 13.1), result('new', 0.4, 0.01)]);
    const c = compareResults(now, base);
    const time = (m: string) => c.rows.find((r) => r.model === m && r.measure === 'fit seconds')!.verdict;
    expect([time('a'), time('b')]).toEqual(['pass', 'regressed']);
    expect(c.rows.find((r) => r.model === 'gone')!.verdict).toBe('missing');
    expect(c.rows.find((r) => r.model === 'new')!.verdict).toBe('new');
    expect(c.regressions).toBe(2);
    const elsewhere = compareResults(results(now.results, { ...machine, cpu: 'Y' }), base);
    expect(elsewhere.rows.filter((r) => r.measure === 'fit seconds').map((r) => r.verdict)).toEqual(['not compared', 'not compared']);
    expect(markdownTable(elsewhere)).toMatch(/Fit times were not compared/);
    const failed = results([{ ...result('a', 0, 0), error: { code: 'E_NUMERIC', message: 'diverged' } }, result('b', 0.4, 0.01, 10)]);
    expect(compareResults(failed, base).rows[0]).toMatchObject({ model: 'a', verdict: 'failed' });
    expect(githubActionBenchmark(now).customSmallerIsBetter.map((e) => e.name)).toEqual(['d / a / fit seconds', 'd / b / fit seconds']);
  });

  test('the committed self-gate config is valid and covers every model family', () => {
    const file = path.resolve(__dirname, '..', '..', '.ci', 'bench', 'config.json');
    const config = checkConfig(JSON.parse(fs.readFileSync(file, 'utf8')), path.dirname(file));
    expect(new Set(config.runs.map((r) => r.type))).toEqual(new Set(['ease', 'sansa', 'mf', 'infae']));
    const schema = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'schema', 'bench-config.schema.json'), 'utf8'));
    expect(Object.keys(schema.properties).sort()).toEqual(['$schema', 'datasets', 'ks', 'metrics', 'models', 'name', 'repeats', 'split', 'threads', 'timeRatio', 'tolerances']);
  });
});
