import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

// The hostile-input corpus (test/fuzz/make-corpus.js writes it): every case runs in its own child
// process against the built package (dist/) and must end with the expected CfkitError code, or
// succeed where it says 'ok', with no signal (no crash, no out-of-memory abort) and well inside the
// time limit (no hang).
interface Case { name: string; call: string; expect: string; issue?: string }
interface Result { ok: boolean; code?: string | null; name?: string; message?: string; value?: string; ms: number }

const root = path.resolve(__dirname, '..', '..');
const cases: Case[] = JSON.parse(fs.readFileSync(path.join(__dirname, 'corpus', 'cases.json'), 'utf8'));
const describeBuilt = fs.existsSync(path.join(root, 'dist', 'index.js')) ? describe : describe.skip;

describeBuilt('hostile-input corpus', () => {
  test('lists at least 40 cases, every one with a known call and expectation', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    for (const c of cases) expect(['fromFile', 'formatOf', 'load', 'api']).toContain(c.call);
  });

  test.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const r = spawnSync(process.execPath, ['--max-old-space-size=1024', path.join(__dirname, 'run-case.js'), c.name], {
      encoding: 'utf8',
      timeout: 60_000,
      cwd: root,
    });
    expect({ signal: r.signal, status: r.status, stderr: r.stderr }).toEqual({ signal: null, status: 0, stderr: '' });
    const res: Result = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    if (c.expect === 'ok') expect(res).toMatchObject({ ok: true });
    else if (c.call === 'formatOf') expect(res).toMatchObject({ ok: true, value: c.expect });
    else expect({ code: res.code, message: typeof res.message }).toEqual({ code: c.expect, message: 'string' });
  });
});
