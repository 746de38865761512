import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from '../helpers/data';

// The GPU check bundle (scripts/gpu-bundle.sh) is what runs on a lent GPU machine, where there is no
// Node. Here it runs in --quick mode: every CPU half must pass, and without a GPU every GPU half is
// skipped with the probe's reason. Needs the build's cfkit-gpu-check and libcfkit_cuda.so (nvcc).
const root = path.resolve(__dirname, '..', '..');
const bundle = path.join(root, 'build', 'gpu-bundle');
const buildable = fs.existsSync(path.join(root, 'build', 'cfkit-gpu-check')) && fs.existsSync(path.join(root, 'build', 'Release', 'libcfkit_cuda.so'));
const describeBundle = buildable ? describe : describe.skip;

const CHECKS = ['probe', 'infae.solve', 'infae.score', 'distill.gradient', 'distill.trajectory', 'mf.fp32', 'mf.fp16', 'mf.mascot', 'mf.pruned'];
const LIMIT = 40 * 1024 * 1024;

interface Outcome { name: string; side: 'cpu' | 'gpu'; status: 'pass' | 'fail' | 'skip'; error: number | null; detail: string }
interface Report {
  mode: string;
  machine: { cpu: string; threads: number };
  cuda: { available: boolean; reason: string; libraryLoaded: boolean };
  checks: Outcome[];
  timings: unknown[];
  summary: { passed: number; failed: number; skipped: number };
}

function packedBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? packedBytes(p) : fs.statSync(p).size;
  }
  return total;
}

describeBundle('GPU check bundle', () => {
  beforeAll(() => {
    // Always from this build, so the test checks what .ci/run ships to the GPU machine.
    const r = spawnSync('bash', [path.join(root, 'scripts', 'gpu-bundle.sh')], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`gpu-bundle.sh failed: ${r.stderr}`);
  }, 120_000);

  test('is under 40 MiB and holds the program, the backend, run.sh and the libraries they need', () => {
    expect(packedBytes(bundle)).toBeLessThanOrEqual(LIMIT);
    for (const f of ['cfkit-gpu-check', 'libcfkit_cuda.so', 'run.sh', 'MANIFEST']) expect(fs.existsSync(path.join(bundle, f))).toBe(true);
    const libs = fs.readdirSync(path.join(bundle, 'lib'));
    for (const soname of ['libcholmod.so.3', 'libopenblas.so.0']) expect(libs.some((f) => f.startsWith(soname))).toBe(true);
    // glibc and the driver come from the machine that runs it
    expect(libs.some((f) => /^(libc|libm|libpthread|libcuda)\.so/.test(f))).toBe(false);
  });

  test('run.sh --quick passes every CPU half and skips every GPU half with the reason', () => {
    const out = tmpDir('cfkit-gpu-check-');
    const env = { ...process.env, OUT: out, CFKIT_CUBLAS_PATH: '' };
    const r = spawnSync('bash', [path.join(bundle, 'run.sh'), '--quick'], { env, encoding: 'utf8', timeout: 120_000 });
    const lines = r.stdout.trim().split('\n');
    expect({ status: r.status, last: lines.at(-1) }).toEqual({ status: 0, last: expect.stringMatching(/^gpu-check: \d+ passed, 0 failed, \d+ skipped$/) });
    const report: Report = JSON.parse(fs.readFileSync(path.join(out, 'gpu-check.json'), 'utf8'));
    expect(fs.readFileSync(path.join(out, 'gpu-check.log'), 'utf8')).toContain(lines.at(-1)!);
    expect(report.mode).toBe('quick');
    expect(report.timings).toEqual([]);
    expect(report.cuda.libraryLoaded).toBe(true);
    for (const side of ['cpu', 'gpu'] as const)
      expect(report.checks.filter((c) => c.side === side).map((c) => c.name).sort()).toEqual([...CHECKS].sort());
    for (const c of report.checks.filter((x) => x.side === 'cpu')) expect({ name: c.name, status: c.status }).toEqual({ name: c.name, status: 'pass' });
    if (!report.cuda.available) {
      expect(report.cuda.reason).toMatch(/CUDA|driver|device/);
      for (const c of report.checks.filter((x) => x.side === 'gpu')) expect({ name: c.name, status: c.status, detail: c.detail }).toEqual({ name: c.name, status: 'skip', detail: report.cuda.reason });
    }
    const count = (s: Outcome['status']) => report.checks.filter((c) => c.status === s).length;
    expect(report.summary).toEqual({ passed: count('pass'), failed: count('fail'), skipped: count('skip') });
    expect(lines.at(-1)).toBe(`gpu-check: ${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped`);
  }, 180_000);

  test('rejects an unknown argument with status 2 and writes no report', () => {
    const out = tmpDir('cfkit-gpu-check-');
    const r = spawnSync('bash', [path.join(bundle, 'run.sh'), '--only', 'nonsense'], { env: { ...process.env, OUT: out }, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/unknown group 'nonsense'/);
    expect(fs.existsSync(path.join(out, 'gpu-check.json'))).toBe(false);
  });
});
