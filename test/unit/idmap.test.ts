import { IdMap, InputError } from '../../lib';
import { checkIndexSpace, KeyIndex, maxIndexSpace } from '../../lib/data/idmap';

describe('IdMap', () => {
  test('an identity map answers like a listed one without holding its ids', () => {
    const n = 2 ** 24; // a list of this size would be 16M entries
    const id = IdMap.identity(n);
    expect(id.isIdentity).toBe(true);
    expect(id.size).toBe(n);
    expect(id.index(5)).toBe(5);
    expect(id.index('5')).toBe(5);
    expect(id.index(n - 1)).toBe(n - 1);
    for (const bad of [n, -1, 1.5, '05', ' 5', '5 ', '1e3', 'x', NaN]) expect(id.index(bad as number)).toBeUndefined();
    expect(id.index(-0)).toBe(0); // String(-0) is "0", as in a listed map
    expect(id.id(7)).toBe(7);
    expect(() => id.id(n)).toThrow(InputError);
    expect(() => id.require(n, 'user')).toThrow(/unknown user id/);
    const listed = IdMap.from([0, 1, 2, 3]);
    const small = IdMap.identity(4);
    for (const probe of [0, 3, '2', 4, '02']) expect(small.index(probe)).toBe(listed.index(probe));
    expect(small.toArray()).toEqual([0, 1, 2, 3]);
    expect(small.subset([3, 1]).toArray()).toEqual([3, 1]);
    expect(IdMap.union(small, IdMap.identity(6)).toArray()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(IdMap.union(small, IdMap.from(['a', 2])).toArray()).toEqual([0, 1, 2, 3, 'a']);
  });

  test('a list of ids equal to their indices becomes an identity map; anything else stays listed', () => {
    expect(IdMap.from([0, 1, 2, 3]).isIdentity).toBe(true);
    expect(IdMap.from([]).isIdentity).toBe(true);
    expect(IdMap.from(['0', '1']).isIdentity).toBe(false); // strings keep their type
    expect(IdMap.from(['0', '1']).id(1)).toBe('1');
    expect(IdMap.from([0, 2, 1]).isIdentity).toBe(false);
    expect(IdMap.from([1, 2, 3]).isIdentity).toBe(false);
    expect(() => IdMap.from([0, 1, 1])).toThrow(/duplicate external id 1/);
  });

  test('rejects a size that is not a non-negative integer', () => {
    expect(() => IdMap.identity(-1)).toThrow(InputError);
    expect(() => IdMap.identity(1.5)).toThrow(InputError);
  });

  test('KeyIndex spreads keys over shards and finds every one (V8 Maps stop at 2^24 entries)', () => {
    const k = new KeyIndex(4);
    for (let i = 0; i < 10; i++) k.add(`id${i}`, i);
    expect(k.shardCount).toBe(3);
    for (let i = 0; i < 10; i++) expect(k.get(`id${i}`)).toBe(i);
    expect(k.get('id10')).toBeUndefined();
  });

  test('dense index spaces are bounded by max(2^24, 16 x interactions)', () => {
    expect(maxIndexSpace(10)).toBe(2 ** 24);
    expect(maxIndexSpace(2 ** 21)).toBe(2 ** 25);
    expect(() => checkIndexSpace(2 ** 24, 2, 'user')).not.toThrow();
    expect(() => checkIndexSpace(2 ** 24 + 1, 2, 'user')).toThrow(/16777217 users for 2 interactions.*numUsers/);
    expect(() => checkIndexSpace(2 ** 25, 2 ** 21, 'item')).not.toThrow();
    expect(() => checkIndexSpace(NaN, 2, 'item')).toThrow(InputError);
  });
});
