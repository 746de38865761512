import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { exportRecommendations, load } from '../../lib';
import { tmpDir } from '../helpers/data';

const run = promisify(execFile);
const cli = path.resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');

describe('cfkit command', () => {
  test('demo trains on generated data and beats popularity', async () => {
    const { stdout } = await run(process.execPath, [cli, 'demo', '--json', '--users', '2000', '--items', '800']);
    const r = JSON.parse(stdout);
    expect(r.ease['recall@20']).toBeGreaterThan(r.popularity['recall@20'] + 0.1);
  });

  test('demo prints a table', async () => {
    const { stdout } = await run(process.execPath, [cli, 'demo', '--users', '1000', '--items', '400']);
    expect(stdout).toMatch(/popularity/);
    expect(stdout).toMatch(/EASE \(l2=200\)/);
  });

  test('train, recommend and evaluate on a file', async () => {
    const dir = tmpDir();
    const data = path.join(dir, 'ratings.csv');
    const lines = ['user,item,rating'];
    for (let u = 0; u < 300; u++) for (let k = 0; k < 12; k++) lines.push(`u${u},i${(u * 3 + k * 7) % 60},${1 + ((u + k) % 5)}`);
    fs.writeFileSync(data, lines.join('\n') + '\n');
    const model = path.join(dir, 'm.cfk');
    await run(process.execPath, [cli, 'train', data, '--implicit', '--duplicates', 'max', '--l2', '20', '-o', model]);
    expect(fs.existsSync(model)).toBe(true);
    const rec = await run(process.execPath, [cli, 'recommend', '-m', model, '--user', 'u1', '-k', '5', '--json']);
    const row = JSON.parse(rec.stdout);
    expect(row.user).toBe('u1');
    expect(row.items).toHaveLength(5);
    const items = await run(process.execPath, [cli, 'recommend', '-m', model, '--items', 'i1,i8', '-k', '3']);
    expect(items.stdout).toMatch(/^new user: i\d+, i\d+, i\d+/);
    const csv = (await run(process.execPath, [cli, 'recommend', '-m', model, '--items', 'i1,i8', '-k', '2', '--format', 'csv'])).stdout.trimEnd().split('\n');
    expect(csv[0]).toBe('query,rank,item,score');
    expect(csv.slice(1).map((l) => l.split(',').slice(0, 2).join(','))).toEqual(['i1 i8,1', 'i1 i8,2']);
    const similar = JSON.parse((await run(process.execPath, [cli, 'recommend', '-m', model, '--similar', 'i3', '-k', '2', '--format', 'jsonl'])).stdout);
    expect(similar).toMatchObject({ query: 'i3', items: [expect.any(String), expect.any(String)] });
    const ev = await run(process.execPath, [cli, 'evaluate', data, '--implicit', '--duplicates', 'max', '--l2', '20', '--test-users', '50', '--json']);
    expect(JSON.parse(ev.stdout).metrics['ndcg@100']).toBeGreaterThan(0);
    for (const model of ['sansa', 'infae']) {
      const file = path.join(dir, `${model}.cfk`);
      const extra = model === 'sansa' ? ['--density', '0.1', '--factorizer', 'cholmod', '--l2', '20'] : ['--l2', '5'];
      await run(process.execPath, [cli, 'train', data, '--implicit', '--model', model, ...extra, '-o', file]);
      const out = JSON.parse((await run(process.execPath, [cli, 'recommend', '-m', file, '--user', 'u7', '-k', '4', '--json'])).stdout);
      expect(out.items).toHaveLength(4);
    }
  });

  test('errors are reported with their code and a non-zero exit', async () => {
    const err = await run(process.execPath, [cli, 'recommend', '-m', '/nonexistent.cfk', '--user', '1']).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(1);
    expect((err as { stderr: string }).stderr).toMatch(/\[E_IO\]/);
  });

  test('doctor reports the backend', async () => {
    const { stdout } = await run(process.execPath, [cli, 'doctor', '--json']);
    const info = JSON.parse(stdout);
    expect(info.suitesparse.cholmod).toBeTruthy();
    expect(['cpu', 'cuda']).toContain(info.device);
  });
});

describe('cfkit batch use', () => {
  // A LightGCN-style split: 1,500 users, each with 12 training and 3 test items among 200.
  const dir = tmpDir();
  const train = path.join(dir, 'train.txt');
  const testFile = path.join(dir, 'test.txt');
  const model = path.join(dir, 'm.cfk');
  beforeAll(async () => {
    const tr: string[] = [];
    const te: string[] = [];
    for (let u = 0; u < 1500; u++) {
      const items = Array.from({ length: 15 }, (_, j) => (u * 7 + j * j * 3 + (u % 13) * j) % 200);
      const distinct = [...new Set(items)];
      tr.push([u, ...distinct.slice(0, -3)].join(' '));
      te.push([u, ...distinct.slice(-3)].join(' '));
    }
    fs.writeFileSync(train, tr.join('\n') + '\n');
    fs.writeFileSync(testFile, te.join('\n') + '\n');
    await run(process.execPath, [cli, 'train', train, '--l2', '50', '-o', model, '--progress', 'none']);
  });

  test('recommend --all streams every user, byte for byte what exportRecommendations writes', async () => {
    const { stdout, stderr } = await run(process.execPath, [cli, 'recommend', '-m', model, '--all', '-k', '8', '--format', 'jsonl', '--batch-size', '100'], { maxBuffer: 1 << 26 });
    const m = await load(model);
    const file = path.join(dir, 'api.jsonl');
    await exportRecommendations(m, file, { k: 8 });
    m.dispose();
    expect(stdout).toBe(fs.readFileSync(file, 'utf8'));
    expect(stdout.trimEnd().split('\n')).toHaveLength(1500);
    expect(stderr).toMatch(/recommended for 1500 users/);
    expect(stderr).toMatch(/export 100%/);  // plain progress lines: stderr is not a terminal
  });

  test('recommend --users-file reads ids line by line; csv goes to a file with -o', async () => {
    const users = path.join(dir, 'users.txt');
    fs.writeFileSync(users, '5\n\n  12 \n7\n');
    const out = path.join(dir, 'some.csv');
    await run(process.execPath, [cli, 'recommend', '-m', model, '--users-file', users, '-k', '3', '--format', 'csv', '-o', out]);
    const lines = fs.readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('user,rank,item,score');
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 2).join(','))).toEqual(['5,1', '5,2', '5,3', '12,1', '12,2', '12,3', '7,1', '7,2', '7,3']);
  });

  test('a closed pipe ends recommend quietly with status 0', async () => {
    const script = `"${process.execPath}" "${cli}" recommend -m "${model}" --all -k 50 --format csv 2>"${dir}/err.txt" | head -n 2; echo "status \${PIPESTATUS[0]}"`;
    const { stdout } = await run('bash', ['-c', script]);
    expect(stdout).toMatch(/^user,rank,item,score\n0,1,/);
    expect(stdout).toMatch(/status 0\n$/);
    expect(fs.readFileSync(path.join(dir, 'err.txt'), 'utf8')).not.toMatch(/EPIPE|Error/);
  });

  test('evaluate --test evaluates on the fixed split and --json records its provenance', async () => {
    const { stdout } = await run(process.execPath, [cli, 'evaluate', train, '--test', testFile, '--l2', '50', '--metrics', 'recall@20,ndcg@20', '--json', '--progress', 'none']);
    const r = JSON.parse(stdout);
    expect(r.users).toBe(1500);
    expect(r.metrics['recall@20']).toBeGreaterThan(0);
    const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
    expect(r.dataset).toEqual({ path: train, bytes: fs.statSync(train).size, sha256: sha(train) });
    expect(r.split).toMatchObject({ kind: 'fixed', testUsers: 1500, test: { sha256: sha(testFile) } });
    expect(r).toMatchObject({ cfkit: expect.any(String), model: 'ease', params: { l2: 50 } });
  });

  test('a large holdout warns; progress can be JSON lines', async () => {
    const { stderr } = await run(process.execPath, [cli, 'evaluate', train, '--test-users', '500', '--l2', '50', '--progress', 'json']);
    expect(stderr).toMatch(/warning: holding out 500 of 1500 users/);
    const events = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    expect(events.length).toBeGreaterThan(2);
    expect(events.every((e) => typeof e.stage === 'string' && typeof e.time === 'number')).toBe(true);
  });

  test('train --model mf takes its options; an unknown model or option fails before the data is read', async () => {
    const ratings = path.join(dir, 'ratings.csv');
    const lines = ['user,item,rating'];
    for (let u = 0; u < 200; u++) for (let k = 0; k < 10; k++) lines.push(`${u},${(u * 5 + k * 11) % 80},${1 + ((u * k) % 5)}`);
    fs.writeFileSync(ratings, lines.join('\n') + '\n');
    const mf = path.join(dir, 'mf.cfk');
    const { stdout } = await run(process.execPath, [cli, 'train', ratings, '--model', 'mf', '--factors', '8', '--epochs', '3', '--precision', 'fp16', '-o', mf, '--json', '--progress', 'none']);
    expect(JSON.parse(stdout)).toMatchObject({ model: 'mf', params: { factors: 8, epochs: 3, precision: 'fp16' } });
    const rec = JSON.parse((await run(process.execPath, [cli, 'recommend', '-m', mf, '--user', '3', '-k', '2', '--json'])).stdout);
    expect(rec.items).toHaveLength(2);
    const ials = path.join(dir, 'ials.cfk');
    const fitted = JSON.parse((await run(process.execPath, [cli, 'train', train, '--model', 'ials', '--factors', '8', '--epochs', '2', '--unobserved-weight', '0.05', '-o', ials, '--json', '--progress', 'none'])).stdout);
    expect(fitted).toMatchObject({ model: 'ials', params: { factors: 8, epochs: 2, unobservedWeight: 0.05 } });
    expect(JSON.parse((await run(process.execPath, [cli, 'recommend', '-m', ials, '--user', '3', '-k', '2', '--json'])).stdout).items).toHaveLength(2);
    for (const args of [['--model', 'knn'], ['--no-such-option'], ['--precision', 'fp8']]) {
      const err = (await run(process.execPath, [cli, 'train', '/nonexistent/data.csv', '-o', path.join(dir, 'x.cfk'), ...args]).catch((e) => e)) as { code: number; stderr: string };
      expect(err.code).toBe(2);
      expect(err.stderr).toMatch(/\[E_INPUT\]/);
      expect(err.stderr).not.toMatch(/nonexistent/);
    }
  });
});
