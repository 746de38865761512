import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EASE, SANSA, syntheticInteractions } from '../../lib';
import { tmpDir } from '../helpers/data';

// examples/http-service on 127.0.0.1: every route against the model's own answers, a hot reload
// when the file is replaced, and a corrupt replacement refused while requests keep coming.
interface Service { port: number; reload(): Promise<boolean>; close(): Promise<void> }
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createService } = require('../../examples/http-service/server') as {
  createService(file: string, o: { port: number; log: (s: string) => void }): Promise<Service>;
};
const root = path.resolve(__dirname, '..', '..');
const describeBuilt = fs.existsSync(path.join(root, 'dist', 'index.js')) ? describe : describe.skip;

const data = syntheticInteractions({ users: 300, items: 60, meanInteractions: 8, clusters: 4, seed: 9 });
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describeBuilt('examples/http-service', () => {
  let dir: string, file: string, service: Service, base: string;
  const logs: string[] = [];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const get = async (p: string): Promise<{ status: number; body: any }> => {
    const r = await fetch(base + p);
    return { status: r.status, body: await r.json() };
  };

  beforeAll(async () => {
    dir = tmpDir('cfkit-http-');
    file = path.join(dir, 'model.cfk');
    const m = await EASE.fit(data, { l2: 20 });
    await m.save(file);
    m.dispose();
    service = await createService(file, { port: 0, log: (s) => logs.push(s) });
    base = `http://127.0.0.1:${service.port}`;
  });
  afterAll(async () => service?.close());

  test('serves health, a known user, a visitor and similar items as the model answers them', async () => {
    const model = await EASE.load(file);
    expect((await get('/health')).body).toMatchObject({ type: 'ease', items: 60, checksum: sha256(file) });
    const user = await get('/recommend?user=5&k=5');
    expect(user.status).toBe(200);
    expect(user.body.items.map((x: { id: number }) => x.id)).toEqual((await model.recommendUsers([5], { k: 5 })).items(0));
    const post = await fetch(base + '/recommend', { method: 'POST', body: JSON.stringify({ items: [1, 2], k: 5, exclude: [3] }) });
    const visitor = (await post.json()) as { items: { id: number }[] };
    expect(visitor.items.map((x) => x.id)).toEqual((await model.recommendItems([[1, 2]], { k: 5, exclude: [3] })).items(0));
    const similar = await get('/similar?item=3&k=4');
    expect(similar.body.items.map((x: { id: number }) => x.id)).toEqual((await model.similarItems([3], { k: 4 })).items(0));
    const stranger = await get('/recommend?user=nobody&k=3');
    expect(stranger.body).toMatchObject({ unknown: true, fallback: true });
    expect((await get('/nothing')).status).toBe(404);
    expect((await get('/recommend?user=5&k=0')).status).toBe(400);
    model.dispose();
  });

  test('reloads when the file is replaced, and refuses a corrupt file under concurrent requests', async () => {
    const sansa = await SANSA.fit(data, { l2: 20 });
    await sansa.save(file); // an atomic rename over the watched file
    sansa.dispose();
    const want = sha256(file);
    for (let t = 0; t < 100 && (await get('/health')).body.checksum !== want; t++) await new Promise((r) => setTimeout(r, 50));
    expect((await get('/health')).body).toMatchObject({ type: 'sansa', checksum: want });

    let stop = false;
    const statuses: number[] = [];
    const traffic = (async () => {
      while (!stop) {
        const batch = await Promise.all(Array.from({ length: 8 }, (_, i) => fetch(`${base}/recommend?user=${i}&k=5`)));
        for (const r of batch) {
          statuses.push(r.status);
          await r.arrayBuffer();
        }
      }
    })();
    const bytes = fs.readFileSync(file);
    bytes[bytes.length >> 1] ^= 0xff; // a checksum mismatch inside a section
    const tmp = path.join(dir, 'incoming.tmp');
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, file);
    await expect(service.reload()).rejects.toMatchObject({ code: 'E_FORMAT' });
    await new Promise((r) => setTimeout(r, 300)); // let the watcher's own attempt happen too
    stop = true;
    await traffic;
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect((await get('/health')).body).toMatchObject({ type: 'sansa', checksum: want });
    expect(logs.some((l) => l.startsWith('refused'))).toBe(true);
  });
});
