import { holdoutUsers, Interactions, leaveKOut, perUserFractions, ratingSplit, syntheticInteractions, temporal } from '../../lib';

const data = syntheticInteractions({ users: 400, items: 150, meanInteractions: 20, seed: 3 });

function entries(d: Interactions): Set<string> {
  const s = new Set<string>();
  for (let u = 0; u < d.numUsers; u++) for (const i of d.row(u).items) s.add(`${d.userIds.id(u)}|${d.itemIds.id(i)}`);
  return s;
}

describe('splits', () => {
  test('holdout users: disjoint users, 80/20 fold-in, train item space, reproducible', () => {
    const a = holdoutUsers(data, { testUsers: 40, validationUsers: 30, seed: 9 });
    const b = holdoutUsers(data, { testUsers: 40, validationUsers: 30, seed: 9 });
    const c = holdoutUsers(data, { testUsers: 40, validationUsers: 30, seed: 10 });
    expect(Array.from(a.test.targets.indices)).toEqual(Array.from(b.test.targets.indices));
    expect(a.test.inputs.userIds.toArray()).not.toEqual(c.test.inputs.userIds.toArray());
    expect(a.train.numUsers).toBe(330);
    const trainUsers = new Set(a.train.userIds.toArray());
    for (const u of [...a.test.inputs.userIds.toArray(), ...a.validation.inputs.userIds.toArray()]) expect(trainUsers.has(u)).toBe(false);
    expect(a.test.inputs.itemIds).toBe(a.train.itemIds);
    expect(a.train.itemCounts().every((x) => x > 0)).toBe(true);
    for (let u = 0; u < a.test.inputs.numUsers; u++) {
      const n = a.test.inputs.row(u).items.length + a.test.targets.row(u).items.length;
      expect(a.test.targets.row(u).items.length).toBe(n >= 5 ? Math.floor(0.2 * n) : 0);
      const inp = new Set(a.test.inputs.row(u).items);
      for (const t of a.test.targets.row(u).items) expect(inp.has(t)).toBe(false);
    }
  });

  test('per-user fractions: every user keeps >= 1 test item; parts partition the data', () => {
    const s = perUserFractions(data, { seed: 4 });
    const all = entries(data.dropUsersBelow(3));
    const tr = entries(s.train);
    const va = entries(s.validation.targets);
    const te = entries(s.test.targets);
    expect(tr.size + va.size + te.size).toBe(all.size);
    for (const e of te) expect(tr.has(e) || va.has(e)).toBe(false);
    for (let u = 0; u < s.test.targets.numUsers; u++) expect(s.test.targets.row(u).items.length).toBeGreaterThan(0);
    expect(entries(s.test.inputs).size).toBe(tr.size + va.size);
    expect(tr.size / all.size).toBeGreaterThan(0.7);
  });

  test('leave-k-out by latest timestamp and temporal split', () => {
    const d = Interactions.fromArrays({ users: [0, 0, 0, 1, 1], items: [0, 1, 2, 0, 2], timestamps: [5, 9, 1, 3, 4] });
    const l = leaveKOut(d, { k: 1, by: 'latest' });
    expect(Array.from(l.test.targets.row(0).items)).toEqual([1]);
    expect(Array.from(l.test.targets.row(1).items)).toEqual([2]);
    const t = temporal(d, { testFraction: 0.4 });
    expect(t.cutoff).toBe(5);
    expect(t.test.targets.nnz).toBe(2);
    expect(() => leaveKOut(data, { by: 'latest' })).toThrow(/timestamps/);
  });

  test('rating split is a reproducible partition', () => {
    const a = ratingSplit(data, { testFraction: 0.1, seed: 1 });
    const b = ratingSplit(data, { testFraction: 0.1, seed: 1 });
    expect(a.test.nnz).toBe(Math.round(0.1 * data.nnz));
    expect(a.train.nnz + a.test.nnz).toBe(data.nnz);
    expect(Array.from(a.test.indices)).toEqual(Array.from(b.test.indices));
  });
});
