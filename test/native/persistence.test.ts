import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EASE, FormatError, InfiniteAE, IOError, load, MatrixFactorization, SANSA, syntheticInteractions, version } from '../../lib';
import { writeModelFile } from '../../lib/io/container';
import { tmpDir } from '../helpers/data';

const data = syntheticInteractions({ users: 200, items: 40, meanInteractions: 8, clusters: 3, seed: 21 });

describe('save / load', () => {
  let file: string;
  let dir: string;
  beforeAll(async () => {
    dir = tmpDir();
    file = path.join(dir, 'model.cfk');
    const m = await EASE.fit(data, { l2: 10 });
    await m.save(file);
    m.dispose();
  });

  test('round trip gives identical weights and recommendations, and keeps history and ids', async () => {
    const m = await EASE.fit(data, { l2: 10 });
    const again = await load(file);
    expect(again.type).toBe('ease');
    expect(again).toBeInstanceOf(EASE);
    expect(Array.from((again as EASE).weights())).toEqual(Array.from(m.weights()));
    expect((again as EASE).l2).toBe(10);
    const a = await m.recommendUsers([3, 4], { k: 7 });
    const b = await again.recommendUsers([3, 4], { k: 7 });
    expect(b.toArray()).toEqual(a.toArray());
    again.dispose();
    m.dispose();
  });

  test('load() narrows by type; EASE.load and the like accept only their own type, naming the one found', async () => {
    const any = await load(file);
    if (any.type !== 'ease') throw new Error(`expected an EASE file, got ${any.type}`);
    expect(any.weights()).toHaveLength(40 * 40); // compiles only because .type narrowed the union to EASE
    any.dispose();
    const typed = await EASE.load(file);
    expect(typed).toBeInstanceOf(EASE);
    typed.dispose();
    await expect(SANSA.load(file)).rejects.toMatchObject({ code: 'E_FORMAT', message: expect.stringMatching(/holds a 'ease' model, not SANSA/) });
    await expect(MatrixFactorization.load(file)).rejects.toBeInstanceOf(FormatError);
    await expect(InfiniteAE.load(file)).rejects.toBeInstanceOf(FormatError);
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
  });

  test('no temporary files are left behind and an existing file is replaced whole', async () => {
    const m = await EASE.fit(data, { l2: 30 });
    await m.save(file);
    m.dispose();
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(((await load(file)) as EASE).l2).toBe(30);
  });

  test('a save removes the temporary files that killed saves of the same target left, and only those', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // exited: its pid is not running
    const base = path.basename(file);
    const stale = path.join(dir, `.${base}.${dead}.0badf00d.tmp`);
    const live = path.join(dir, `.${base}.${process.pid}.12345678.tmp`); // a save in flight here
    const other = path.join(dir, `.other.cfk.${dead}.0badf00d.tmp`); // another target's
    const unlike = path.join(dir, `.${base}.${dead}.tmp`); // not our naming pattern
    for (const f of [stale, live, other, unlike]) fs.writeFileSync(f, 'x');
    const m = await EASE.fit(data, { l2: 10 });
    await m.save(file);
    m.dispose();
    expect([stale, live, other, unlike].map((f) => fs.existsSync(f))).toEqual([false, true, true, true]);
    for (const f of [live, other, unlike]) fs.unlinkSync(f);
  });

  test('a failed write leaves the old file untouched', async () => {
    const before = fs.readFileSync(file);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(writeModelFile(file, { type: 'ease', cfkitVersion: 'x', params: {}, meta: {} }, [['bad', circular]])).rejects.toThrow();
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('every truncation is E_FORMAT, never a crash', async () => {
    const bytes = fs.readFileSync(file);
    const cut = path.join(dir, 'cut.cfk');
    const offsets = new Set<number>([0, 1, 7, 8, 12, 19, 20, 21, 64, bytes.length - 9, bytes.length - 8, bytes.length - 1]);
    for (let k = 1; k < 40; k++) offsets.add(Math.floor((k / 40) * bytes.length));
    for (const off of offsets) {
      fs.writeFileSync(cut, bytes.subarray(0, off));
      const err = await load(cut).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FormatError);
    }
  });

  test('flipped bytes anywhere are detected by the checksums', async () => {
    const bytes = fs.readFileSync(file);
    const bad = path.join(dir, 'flip.cfk');
    for (let k = 0; k < 30; k++) {
      const copy = Buffer.from(bytes);
      const pos = Math.floor(((k + 0.5) / 30) * (copy.length - 8));
      copy[pos] ^= 0x5a;
      fs.writeFileSync(bad, copy);
      const err = await load(bad).then(
        () => null,
        (e: unknown) => e,
      );
      // A flip inside alignment padding changes nothing that is read; everything else must fail.
      if (err !== null) expect(err).toBeInstanceOf(FormatError);
    }
  });

  test('repeated or malformed ids in any id section are E_FORMAT naming the section', async () => {
    const ratings = syntheticInteractions({ users: 60, items: 30, seed: 2, ratings: true });
    const mf = await MatrixFactorization.fit(ratings, { factors: 4, epochs: 2 });
    const good = path.join(dir, 'mf.cfk');
    await mf.save(good);
    mf.dispose();
    const { readModelFile } = await import('../../lib/io/container');
    const f = await readModelFile(good);
    for (const [name, ids] of [['userIds', [0, 0]], ['itemIds', [1, 1]], ['userIds', [0, { x: 1 }]]] as const) {
      const sections = new Map(f.sections);
      const base = sections.get(name) as unknown[];
      sections.set(name, [...ids, ...base.slice(ids.length)]);
      const bad = path.join(dir, `bad-${name}.cfk`);
      await writeModelFile(bad, { type: f.type, cfkitVersion: f.cfkitVersion, params: f.params, meta: f.meta }, [...sections.entries()] as never);
      await expect(MatrixFactorization.load(bad)).rejects.toMatchObject({ code: 'E_FORMAT', message: expect.stringContaining(`section '${name}'`) });
    }
  });

  test('not a model file, or a missing one', async () => {
    const junk = path.join(dir, 'junk.cfk');
    fs.writeFileSync(junk, 'hello world, this is not a model file at all');
    await expect(load(junk)).rejects.toBeInstanceOf(FormatError);
    await expect(load(path.join(dir, 'missing.cfk'))).rejects.toBeInstanceOf(IOError);
  });
});

test("loading frees the sections the addon copied, and keeps the history and item counts", async () => {
  const { buildFromFile } = await import('../../lib/models/model-file');
  const { SANSA: S } = await import('../../lib');
  const data = syntheticInteractions({ users: 300, items: 120, seed: 9 });
  const dir = tmpDir();
  for (const [name, fit] of [
    ['ease', () => EASE.fit(data, { l2: 20 })],
    ['sansa', () => S.fit(data, { l2: 20, density: 0.1 })],
  ] as const) {
    const m = await fit();
    const file = path.join(dir, `${name}.cfk`);
    await m.save(file);
    const want = await m.recommendUsers([3, 7], { k: 5 });
    m.dispose();
    let sections = new Map<string, unknown>();
    const back = await buildFromFile(file, (f, p) => {
      sections = f.sections;
      return name === 'ease' ? EASE.fromModelFile(f, p) : S.fromModelFile(f, p);
    });
    const copied = [...sections].filter(([k, v]) => ArrayBuffer.isView(v) && !k.startsWith('history.') && k !== 'popularity');
    expect(copied.length).toBeGreaterThan(0);
    for (const [, v] of copied) expect((v as ArrayBufferView).byteLength).toBe(0);  // detached: freed now, not at a GC
    expect((sections.get('history.indices') as Int32Array).length).toBe(data.nnz);
    const got = await back.recommendUsers([3, 7], { k: 5 });
    expect(Array.from(got.indices)).toEqual(Array.from(want.indices));
    expect(back.popularity.length).toBe(120);
    back.dispose();
  }
});
