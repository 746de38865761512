import { IdMap, InputError, Interactions } from '../../lib';

describe('Interactions', () => {
  test('from typed arrays of indices', () => {
    const d = Interactions.fromArrays({ users: Int32Array.of(0, 0, 2), items: Int32Array.of(3, 1, 0), values: Float32Array.of(1, 2, 3) });
    expect(d.numUsers).toBe(3);
    expect(d.numItems).toBe(4);
    expect(Array.from(d.indptr)).toEqual([0, 2, 2, 3]);
    expect(Array.from(d.indices)).toEqual([1, 3, 0]);
    expect(Array.from(d.values)).toEqual([2, 1, 3]);
  });

  test('from string ids, mapped in first-seen order', () => {
    const d = Interactions.fromArrays({ users: ['u2', 'u1', 'u2'], items: ['b', 'a', 'a'] });
    expect(d.userIds.toArray()).toEqual(['u2', 'u1']);
    expect(d.itemIds.require('a', 'item')).toBe(1);
    expect(d.row(0).items.length).toBe(2);
  });

  test('rejects NaN values, negative or fractional indices, and ids outside a declared space', () => {
    expect(() => Interactions.fromArrays({ users: [0], items: [0], values: [NaN] })).toThrow(InputError);
    expect(() => Interactions.fromArrays({ users: [-1], items: [0] })).toThrow(/non-negative integer/);
    expect(() => Interactions.fromArrays({ users: [0.5], items: [0] })).toThrow(InputError);
    expect(() => Interactions.fromArrays({ users: [0, 5], items: [0, 1] }, { numUsers: 3 })).toThrow(/out of range/);
    expect(() => Interactions.fromArrays({ users: [0], items: ['z'] }, { itemIds: IdMap.from(['a']) })).toThrow(/unknown item id/);
    expect(() => Interactions.fromArrays({ users: [0, 1], items: [0] })).toThrow(InputError);
  });

  test('selectUsers, alignItems and binarize', () => {
    const d = Interactions.fromArrays({ users: ['a', 'a', 'b', 'c'], items: ['x', 'y', 'y', 'z'], values: [5, 2, 4, 1] });
    const s = d.selectUsers([2, 0]);
    expect(s.userIds.toArray()).toEqual(['c', 'a']);
    expect(Array.from(s.indices)).toEqual([2, 0, 1]);
    const target = IdMap.from(['z', 'y']);
    const { data, droppedItems, droppedInteractions } = d.alignItems(target);
    expect(droppedItems).toBe(1);
    expect(droppedInteractions).toBe(1);
    expect(Array.from(data.row(0).items)).toEqual([1]);
    expect(Array.from(data.row(2).items)).toEqual([0]);
    const b = d.binarize(4);
    expect(b.nnz).toBe(2);
    expect(Array.from(b.values)).toEqual([1, 1]);
  });

  test('fromCsr validates its parts', () => {
    expect(() => Interactions.fromCsr({ indptr: Int32Array.of(0, 2), indices: Int32Array.of(1, 1), userIds: 1, itemIds: 3 })).toThrow(/sorted/);
    expect(() => Interactions.fromCsr({ indptr: Int32Array.of(0, 1), indices: Int32Array.of(7), userIds: 1, itemIds: 3 })).toThrow(/out of range/);
  });
});
