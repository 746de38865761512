import { FormatError, InputError, Interactions, IOError, readInteractions } from '../../lib';
import { writeTmp } from '../helpers/data';

describe('reading interaction files', () => {
  test('CSV with a header, columns by name, string ids, implicit threshold', async () => {
    const f = writeTmp('r.csv', 'uid,iid,stars,ts\nalice,m1,5,10\nalice,m2,3,11\nbob,m1,4,12\nbob,m3,4.5,13\n');
    const { data, stats } = await readInteractions(f, { user: 'uid', item: 'iid', rating: 'stars', timestamp: 'ts', implicit: { threshold: 4 } });
    expect(stats.format).toBe('csv');
    expect(stats.belowThreshold).toBe(1);
    expect(data.numUsers).toBe(2);
    expect(data.userIds.toArray()).toEqual(['alice', 'bob']);
    expect(data.itemIds.toArray()).toEqual(['m1', 'm2', 'm3']);
    expect(data.nnz).toBe(3);
    expect(Array.from(data.row(1).items)).toEqual([0, 2]);
    expect(Array.from(data.values)).toEqual([1, 1, 1]);
    expect(Array.from(data.timestamps!)).toEqual([10, 12, 13]);
  });

  test('TSV without a header, columns by index, numeric ids kept as numbers', async () => {
    const f = writeTmp('u.data', '196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t1\t878887116\n');
    const data = await Interactions.fromFile(f);
    expect(data.userIds.toArray()).toEqual([196, 186]);
    expect(data.itemIds.toArray()).toEqual([242, 302]);
    expect(Array.from(data.values)).toEqual([3, 1, 3]);
    expect(data.userIds.index('196')).toBe(0);
  });

  test('header auto-detected from a non-numeric rating column', async () => {
    const f = writeTmp('r.csv', 'userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n');
    const data = await Interactions.fromFile(f);
    expect(data.nnz).toBe(2);
    expect(Array.from(data.values)).toEqual([4, 4.5]);
  });

  test("MovieLens '::' files", async () => {
    const f = writeTmp('ratings.dat', '1::1193::5\r\n1::661::3\r\n2::1193::4\r\n');
    const data = await Interactions.fromFile(f);
    expect(data.numUsers).toBe(2);
    expect(data.numItems).toBe(2);
    expect(data.itemIds.toArray()).toEqual([1193, 661]);
    expect(Array.from(data.values)).toEqual([5, 3, 4]);
  });

  test('LightGCN adjacency lines keep dense indices and users without items', async () => {
    const f = writeTmp('train.txt', '0 0 1 2\n1 2\n3 4 0\n');
    const data = await Interactions.fromFile(f);
    expect(data.numUsers).toBe(4);
    expect(data.numItems).toBe(5);
    expect(Array.from(data.row(3).items)).toEqual([0, 4]);
    expect(data.row(2).items.length).toBe(0);
    const wider = await Interactions.fromFile(f, { numItems: 10 });
    expect(wider.numItems).toBe(10);
  });

  test('a bad row is E_FORMAT with its line number; skipInvalid counts it instead', async () => {
    const f = writeTmp('bad.csv', '1,1,5\n2,2,4\n3,x,oops\n4,4,3\n');
    const err = await readInteractions(f).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect((err as FormatError).code).toBe('E_FORMAT');
    expect((err as FormatError).line).toBe(3);
    expect((err as Error).message).toMatch(/line 3/);
    const { data, stats } = await readInteractions(f, { skipInvalid: true });
    expect(stats.skippedRows).toBe(1);
    expect(data.nnz).toBe(3);
  });

  test('too few fields and NaN ratings are rejected', async () => {
    await expect(readInteractions(writeTmp('a.csv', '1,2,3\n1\n'))).rejects.toMatchObject({ code: 'E_FORMAT', line: 2 });
    await expect(readInteractions(writeTmp('b.csv', '1,2,NaN\n'))).rejects.toMatchObject({ code: 'E_FORMAT', line: 1 });
  });

  test('duplicates fail by default with the line, or merge by policy', async () => {
    const f = writeTmp('d.csv', '1,1,2\n1,2,3\n1,1,5\n');
    await expect(readInteractions(f)).rejects.toMatchObject({ code: 'E_FORMAT', line: 3 });
    const sum = await Interactions.fromFile(f, { duplicates: 'sum' });
    expect(Array.from(sum.values)).toEqual([7, 3]);
    const max = await Interactions.fromFile(f, { duplicates: 'max' });
    expect(Array.from(max.values)).toEqual([5, 3]);
    const first = await Interactions.fromFile(f, { duplicates: 'first' });
    expect(Array.from(first.values)).toEqual([2, 3]);
    const last = await Interactions.fromFile(f, { duplicates: 'last' });
    expect(Array.from(last.values)).toEqual([5, 3]);
  });

  test('missing files are E_IO, unknown columns E_INPUT', async () => {
    await expect(readInteractions('/nonexistent/ratings.csv')).rejects.toBeInstanceOf(IOError);
    const f = writeTmp('h.csv', 'a,b,c\n1,2,3\n');
    await expect(readInteractions(f, { user: 'user' })).rejects.toBeInstanceOf(InputError);
  });

  test('reads files larger than one stream chunk, splitting lines across chunks', async () => {
    const lines: string[] = [];
    for (let u = 0; u < 3000; u++) for (let i = 0; i < 40; i++) lines.push(`${u}\t${(u * 7 + i * 13) % 997}\t${1 + ((u + i) % 5)}`);
    const text = lines.join('\n') + '\n';
    expect(text.length).toBeGreaterThan(1 << 20);
    const data = await Interactions.fromFile(writeTmp('big.tsv', text), { duplicates: 'sum' });
    expect(data.numUsers).toBe(3000);
    let total = 0;
    for (const v of data.values) total += v;
    const expected = lines.reduce((s, l) => s + Number(l.split('\t')[2]), 0);
    expect(total).toBe(expected);
  });

  test('a line longer than maxLineLength is E_FORMAT at once; a bad maxLineLength is E_INPUT', async () => {
    const file = writeTmp('long.txt', `0 1\n1 ${Array.from({ length: 300 }, (_, i) => i).join(' ')}\n2 3\n`);
    await expect(Interactions.fromFile(file, { maxLineLength: 100 })).rejects.toMatchObject({ code: 'E_FORMAT', line: 2 });
    expect((await Interactions.fromFile(file, { maxLineLength: 2000 })).numUsers).toBe(3);
    await expect(Interactions.fromFile(file, { maxLineLength: 0 })).rejects.toMatchObject({ code: 'E_INPUT' });
  });

  test('a first row whose rating is NaN or Infinity is data (E_FORMAT), not a header', async () => {
    for (const v of ['NaN', 'Infinity', '-inf'])
      await expect(Interactions.fromFile(writeTmp('r.csv', `1,2,${v}\n2,3,4\n`))).rejects.toMatchObject({ code: 'E_FORMAT', line: 1 });
    const named = await Interactions.fromFile(writeTmp('h.csv', 'user,item,score\n1,2,4\n'));
    expect(named.nnz).toBe(1);
  });

  test('a one-column file lacks the item column: E_FORMAT', async () => {
    await expect(Interactions.fromFile(writeTmp('one.csv', 'u1\nu2\n'), { format: 'csv' })).rejects.toMatchObject({ code: 'E_FORMAT', line: 1 });
  });
});
