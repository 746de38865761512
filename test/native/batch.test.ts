import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { EASE, exportRecommendations, Interactions, progressPrinter, syntheticInteractions } from '../../lib';
import type { ProgressEvent } from '../../lib';
import { formatScore } from '../../lib/batch/export';
import { tmpDir } from '../helpers/data';

// 530 users with string ids (so ids, not indices, are checked), one with no history.
function data(): Interactions {
  const base = syntheticInteractions({ users: 530, items: 120, seed: 5 });
  const users: string[] = [];
  const items: number[] = [];
  for (let u = 0; u < base.numUsers; u++) for (const i of base.row(u).items) if (u !== 17) (users.push(`u${u}`), items.push(i));
  users.push('u17');
  items.push(0);
  return Interactions.fromArrays({ users, items });
}

describe('bulk recommendations', () => {
  let model: EASE;
  let ids: (string | number)[];
  beforeAll(async () => {
    model = await EASE.fit(data(), { l2: 30 });
    ids = model.history!.userIds.toArray();
  });
  afterAll(() => model.dispose());

  test('recommendAll covers every user once, in order, in batches equal to recommendUsers', async () => {
    const seen: (string | number)[] = [];
    const events: ProgressEvent[] = [];
    for await (const batch of model.recommendAll({ k: 7, batchSize: 100, onProgress: (e) => events.push(e) })) {
      expect(batch.users.length).toBeLessThanOrEqual(100);
      const direct = await model.recommendUsers(batch.users, { k: 7 });
      expect(Array.from(batch.recommendations.indices)).toEqual(Array.from(direct.indices));
      expect(Array.from(batch.recommendations.scores)).toEqual(Array.from(direct.scores));
      seen.push(...batch.users);
      expect(batch.done).toBe(seen.length);
    }
    expect(seen).toEqual(ids);
    expect(events.map((e) => e.done)).toEqual([100, 200, 300, 400, 500, 530]);
    expect(events.every((e) => e.stage === 'export' && e.total === 530)).toBe(true);
    expect(events[events.length - 1].fraction).toBe(1);
  });

  test('users may come from an async iterable, with unknown ids served by popularity when ignored', async () => {
    async function* users() {
      yield 'u3';
      yield 'nobody';
      yield 'u9';
    }
    const batches = [];
    for await (const b of model.recommendAll({ users: users(), batchSize: 2, k: 3, unknown: 'ignore' })) batches.push(b);
    expect(batches.map((b) => b.users)).toEqual([['u3', 'nobody'], ['u9']]);
    expect(batches[0].recommendations.unknownRows).toEqual([1]);
    await expect(async () => {
      for await (const _ of model.recommendAll({ users: ['u1', 'nobody'], k: 3 })) void _;
    }).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringMatching(/nobody/) });
    await expect(async () => {
      for await (const _ of model.recommendAll({ batchSize: 0 })) void _;
    }).rejects.toMatchObject({ code: 'E_INPUT' });
  });

  test('an abort stops the batches with E_ABORTED', async () => {
    const ac = new AbortController();
    let batches = 0;
    await expect(async () => {
      for await (const _ of model.recommendAll({ batchSize: 50, signal: ac.signal })) {
        void _;
        if (++batches === 2) ac.abort();
      }
    }).rejects.toMatchObject({ code: 'E_ABORTED' });
    expect(batches).toBe(2);
  });

  test('jsonl and csv files hold every user with the scores of recommendUsers', async () => {
    const dir = tmpDir();
    const jsonl = path.join(dir, 'recs.jsonl');
    const summary = await exportRecommendations(model, jsonl, { k: 5, batchSize: 64 });
    expect(summary.users).toBe(530);
    expect(summary.fallbackUsers).toBe(0);
    const rows = fs.readFileSync(jsonl, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((r) => r.user)).toEqual(ids);
    const direct = await model.recommendUsers(ids, { k: 5 });
    rows.forEach((r, u) => {
      expect(r.items).toEqual(direct.items(u));
      expect(r.scores.map(Math.fround)).toEqual(direct.scoresOf(u));  // float32 values read back exactly
    });
    expect(summary.bytes).toBe(fs.statSync(jsonl).size);

    const csv = path.join(dir, 'recs.csv');
    await exportRecommendations(model, csv, { k: 5, format: 'csv', users: ['u4', 'u2'] });
    const lines = fs.readFileSync(csv, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('user,rank,item,score');
    expect(lines).toHaveLength(1 + 2 * 5);
    const u2 = ids.indexOf('u2');
    expect(lines[6]).toBe(`u2,1,${direct.items(u2)[0]},${formatScore(direct.scoresOf(u2)[0])}`);
    expect(fs.readdirSync(dir).sort()).toEqual(['recs.csv', 'recs.jsonl']);
  });

  test('an aborted or failed export leaves the old file and no temporary file', async () => {
    const dir = tmpDir();
    const target = path.join(dir, 'recs.jsonl');
    fs.writeFileSync(target, 'old\n');
    const ac = new AbortController();
    await expect(
      exportRecommendations(model, target, { batchSize: 10, signal: ac.signal, onProgress: (e) => e.done! >= 200 && ac.abort() }),
    ).rejects.toMatchObject({ code: 'E_ABORTED' });
    await expect(exportRecommendations(model, target, { users: ['u1', 'missing'] })).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(exportRecommendations(model, target, { format: 'xml' as never })).rejects.toMatchObject({ code: 'E_INPUT' });
    expect(fs.readFileSync(target, 'utf8')).toBe('old\n');
    expect(fs.readdirSync(dir)).toEqual(['recs.jsonl']);
  });

  test('a stream receives the same bytes as a file', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'a.jsonl');
    await exportRecommendations(model, file, { k: 4, batchSize: 33 });
    const sink = new PassThrough();
    const parts: Buffer[] = [];
    sink.on('data', (c: Buffer) => parts.push(c));
    await exportRecommendations(model, sink, { k: 4, batchSize: 200 });
    expect(Buffer.concat(parts).equals(fs.readFileSync(file))).toBe(true);
  });

  test('a disposed model is E_DISPOSED', async () => {
    const m = await EASE.fit(data(), { l2: 30 });
    m.dispose();
    await expect(async () => {
      for await (const _ of m.recommendAll()) void _;
    }).rejects.toMatchObject({ code: 'E_DISPOSED' });
  });
});

test('scores are printed as the shortest decimal that reads back as the same float32', () => {
  const values = new Float32Array(2000);
  for (let i = 0; i < values.length; i++) values[i] = (Math.sin(i * 12.9898) * 43758.5453) % 1 * 10 ** ((i % 9) - 4);
  for (const f of [...values, 0.1, 1, -2.5, 3e-7]) {
    const x = Math.fround(f);
    const s = formatScore(x);
    expect(Math.fround(Number(s))).toBe(x);
    const digits = s.replace(/^-?0?\.?0*|e.*$|\./g, '').length;
    if (digits > 1) expect(Math.fround(Number(x.toPrecision(digits - 1)))).not.toBe(x);
  }
  expect(formatScore(-Infinity)).toBe('null');
});

describe('progress printer', () => {
  function capture(format: 'plain' | 'json') {
    let t = 0;
    const out: string[] = [];
    const stream = { write: (s: string) => (out.push(s), true), isTTY: false } as unknown as NodeJS.WritableStream;
    const p = progressPrinter(format, { stream, now: () => t });
    return { p, out, tick: (ms: number) => (t += ms) };
  }

  test("'plain' prints a line per stage and per 10 %, with elapsed time and ETA", () => {
    const { p, out, tick } = capture('plain');
    for (let i = 0; i <= 100; i++) {
      tick(100);
      p.onProgress({ stage: 'factorize', fraction: i / 100 });
    }
    tick(500);
    p.onProgress({ stage: 'weights', fraction: 0.5, loss: 0.25 });
    tick(500);
    p.onProgress({ stage: 'weights', fraction: 1 });
    p.stop();
    expect(out.filter((l) => l.includes('factorize'))).toHaveLength(11);
    // Stage started at t = 0; at 10 s, 50 % done after 5 s of the stage's work... 5.1 s elapsed at 50 %.
    expect(out[5]).toBe('[  5.1s] factorize  50%  eta 5.1s\n');
    expect(out[10]).toBe('[ 10.1s] factorize 100%\n');
    expect(out[11]).toBe('[ 10.6s] weights  50%  eta 0.5s  loss 0.2500\n');
    expect(out[12]).toBe('[ 11.1s] weights 100%\n');
    expect(out).toHaveLength(13);
  });

  test("'json' prints one parseable object per informative event", () => {
    const { p, out, tick } = capture('json');
    for (let i = 0; i <= 1000; i++) {
      tick(1);
      p.onProgress({ stage: 'gram', fraction: i / 1000 });
    }
    p.onProgress({ stage: 'train', fraction: 0.1, epoch: 1, trainRmse: 0.9 });
    const events = out.map((l) => JSON.parse(l));
    expect(events.length).toBeGreaterThanOrEqual(100);
    expect(events.length).toBeLessThanOrEqual(103);
    expect(events[events.length - 2]).toMatchObject({ stage: 'gram', fraction: 1 });
    expect(events[events.length - 1]).toMatchObject({ stage: 'train', epoch: 1, trainRmse: 0.9, time: 1.001 });
    expect(() => progressPrinter('loud' as never)).toThrow(/progress format/);
  });
});

describe('without the optional bullmq package', () => {
  test('the queue functions fail with E_INPUT naming the packages to install', async () => {
    jest.resetModules();
    jest.doMock('bullmq', () => {
      throw new Error("Cannot find module 'bullmq'");
    });
    const { exportStatus } = await import('../../lib/batch/queue');
    await expect(exportStatus({ redis: 'redis://127.0.0.1:1' })).rejects.toMatchObject({
      code: 'E_INPUT',
      message: expect.stringMatching(/npm install bullmq ioredis/),
    });
    jest.dontMock('bullmq');
  });
});
