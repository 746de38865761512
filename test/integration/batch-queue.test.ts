// Scale-out over BullMQ against a real redis-server: two `cfkit batch work` processes export 30,000
// users, one is killed with SIGKILL in the middle of a shard, and the folder must still end with
// every user exactly once, no temporary files, and the bytes of a single-process export.
// CI starts redis-server and sets CFKIT_TEST_REDIS_URL; elsewhere the test starts its own when
// redis-server is installed, and skips when it is not.
import { ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { EASE, exportRecommendations, Interactions, load } from '../../lib';
import { enqueueExport, exportStatus } from '../../lib/batch';
import { tmpDir } from '../helpers/data';

const run = promisify(execFile);
const cli = path.resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const given = process.env.CFKIT_TEST_REDIS_URL;
const haveServer = !!given || spawnSync('redis-server', ['--version']).status === 0;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function waitFor(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

(haveServer ? describe : describe.skip)('bulk export over BullMQ', () => {
  let redis: string;
  let server: ChildProcess | undefined;
  const dir = tmpDir();
  const modelFile = path.join(dir, 'model.cfk');
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    if (given) redis = given;
    else {
      const port = await freePort();
      server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      redis = `redis://127.0.0.1:${port}`;
      await waitFor(() => new Promise((resolve) => {
        const sock = net.connect(port, '127.0.0.1', () => (sock.end(), resolve(true)));
        sock.on('error', () => resolve(false));
      }), 10_000, 'redis-server');
    }
    // 30,000 users (Gowalla's count) over 3,000 items, 20 interactions each.
    const users: number[] = [];
    const items: number[] = [];
    for (let u = 0; u < 30_000; u++) for (let j = 0; j < 20; j++) (users.push(u), items.push((u * 37 + j * j * 11 + (u % 101) * j) % 3000));
    const data = Interactions.fromArrays({ users, items }, { duplicates: 'max' });
    const model = await EASE.fit(data, { l2: 100 });
    await model.save(modelFile);
    model.dispose();
  }, 120_000);

  afterAll(() => {
    for (const w of workers) w.kill('SIGKILL');
    server?.kill('SIGTERM');
  });

  test('a worker killed mid-shard loses nothing and duplicates nothing', async () => {
    const out = path.join(dir, 'out');
    const queue = `cfkit-test-${process.pid}-${Date.now()}`;
    const manifest = await enqueueExport({ redis, queue, model: modelFile, out, shardSize: 1000, k: 10 });
    expect(manifest).toMatchObject({ users: 30_000, shards: 30 });
    // Enqueueing the same export again adds no jobs.
    await enqueueExport({ redis, queue, model: modelFile, out, shardSize: 1000, k: 10 });
    expect((await exportStatus({ redis, queue })).counts.waiting).toBe(30);

    const start = () => {
      const w = spawn(process.execPath, [cli, 'batch', 'work', '--redis', redis, '--queue', queue, '--threads', '1', '--lock-ms', '2000', '--stalled-ms', '1000'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      workers.push(w);
      return w;
    };
    const a = start();
    const b = start();
    // A temporary file of A's exists only between opening a shard and renaming it into place.
    const tmpOf = (pid: number) => fs.readdirSync(out).filter((f) => f.endsWith('.tmp') && f.includes(`.${pid}.`));
    await waitFor(() => tmpOf(a.pid!).length > 0, 60_000, "worker A's first shard");
    a.kill('SIGKILL');
    await new Promise((r) => a.once('exit', r));
    expect(tmpOf(a.pid!)).toHaveLength(1);  // killed in the middle of a shard

    await waitFor(async () => (await exportStatus({ redis, queue, out })).done, 90_000, 'every shard');
    const status = await exportStatus({ redis, queue, out });
    b.kill('SIGTERM');
    await new Promise((r) => b.once('exit', r));
    expect(status.counts).toMatchObject({ completed: 30, failed: 0, active: 0, waiting: 0 });
    expect(status.stalls + status.retries).toBeGreaterThanOrEqual(1);
    const cliStatus = await run(process.execPath, [cli, 'batch', 'status', '--redis', redis, '--queue', queue, '--out', out]);
    expect(cliStatus.stdout).toMatch(/30 of 30 shard files written \(30000 users\) - complete/);

    const files = fs.readdirSync(out).sort();
    expect(files).toEqual(['manifest.json', ...manifest.files]);  // no temporary or partial files
    const lines = manifest.files.flatMap((f) => fs.readFileSync(path.join(out, f), 'utf8').trimEnd().split('\n'));
    const users = lines.map((l) => JSON.parse(l).user as number);
    expect(new Set(users).size).toBe(30_000);
    expect(users).toHaveLength(30_000);

    const single = path.join(dir, 'single.jsonl');
    const m = await load(modelFile);
    await exportRecommendations(m, single, { k: 10 });
    m.dispose();
    const byUser = (ls: string[]) => [...ls].sort((x, y) => Number(JSON.parse(x).user) - Number(JSON.parse(y).user)).join('\n');
    expect(byUser(lines) === byUser(fs.readFileSync(single, 'utf8').trimEnd().split('\n'))).toBe(true);
  }, 180_000);

  test('bad options are E_INPUT before anything is queued', async () => {
    await expect(enqueueExport({ redis: 'http://127.0.0.1:1', model: modelFile, out: dir })).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(enqueueExport({ redis, model: modelFile, out: dir, shardSize: 0 })).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(enqueueExport({ redis, queue: 'bad queue', model: modelFile, out: dir })).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(exportStatus({ redis, out: path.join(dir, 'nothing-here') })).rejects.toMatchObject({ code: 'E_INPUT' });
  });
});
