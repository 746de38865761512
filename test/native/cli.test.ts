import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
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
    const rows = JSON.parse(rec.stdout);
    expect(rows[0].items).toHaveLength(5);
    const items = await run(process.execPath, [cli, 'recommend', '-m', model, '--items', 'i1,i8', '-k', '3']);
    expect(items.stdout).toMatch(/^new user: i\d+, i\d+, i\d+/);
    const ev = await run(process.execPath, [cli, 'evaluate', data, '--implicit', '--duplicates', 'max', '--l2', '20', '--test-users', '50', '--json']);
    expect(JSON.parse(ev.stdout).metrics['ndcg@100']).toBeGreaterThan(0);
    for (const model of ['sansa', 'infae']) {
      const file = path.join(dir, `${model}.cfk`);
      const extra = model === 'sansa' ? ['--density', '0.1', '--factorizer', 'cholmod', '--l2', '20'] : ['--l2', '5'];
      await run(process.execPath, [cli, 'train', data, '--implicit', '--model', model, ...extra, '-o', file]);
      const out = JSON.parse((await run(process.execPath, [cli, 'recommend', '-m', file, '--user', 'u7', '-k', '4', '--json'])).stdout);
      expect(out[0].items).toHaveLength(4);
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
