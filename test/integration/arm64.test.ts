import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from '../helpers/data';

// The linux-arm64 prebuild, run under qemu-aarch64 with an arm64 Node (scripts/arm64/). The same
// workload (test/arm64/workload.js) runs here on x86-64 and there on arm64; their recommendations
// must agree to float tolerance, and each side must load the models the other saved.
// Needs `npm run prebuild:arm64` (which .ci/run does) and Debian's qemu-user. Without the emulator
// it skips and says why; without the prebuild it skips locally and fails in CI.
const root = path.resolve(__dirname, '..', '..');
const sysroot = process.env.CFKIT_ARM64_SYSROOT ?? path.join(root, 'build-arm64', 'sysroot');
const armNode = path.join(sysroot, 'opt', 'node', 'bin', 'node');
const prebuild = path.join(root, 'prebuilds', 'linux-arm64', 'cfkit.glibc.node');
const workload = path.join(root, 'test', 'arm64', 'workload.js');
const qemuEnv = { ...process.env, QEMU_LD_PREFIX: sysroot };

function unavailable(): string | undefined {
  const missing = [prebuild, armNode].filter((f) => !fs.existsSync(f));
  if (missing.length) {
    const why = `missing ${missing.map((f) => path.relative(root, f)).join(', ')} (run npm run prebuild:arm64)`;
    if (process.env.CI) throw new Error(`the arm64 check cannot run in CI: ${why}`);
    return why;
  }
  const r = spawnSync('qemu-aarch64', [armNode, '-p', 'process.arch'], { env: qemuEnv, encoding: 'utf8' });
  if (r.error || r.status !== 0 || r.stdout.trim() !== 'arm64')
    return `qemu-aarch64 cannot start the arm64 Node (${r.error?.message ?? (r.stderr.trim() || `exit ${r.status}`)}); apt-get install qemu-user`;
  return undefined;
}

/** A copy of the package as npm would install it on arm64: dist/, package.json, and only the arm64 prebuild. */
function stagePackage(dir: string): string {
  const pkg = path.join(dir, 'cfkit');
  fs.mkdirSync(path.join(pkg, 'prebuilds', 'linux-arm64'), { recursive: true });
  fs.cpSync(path.join(root, 'dist'), path.join(pkg, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(root, 'package.json'), path.join(pkg, 'package.json'));
  fs.copyFileSync(prebuild, path.join(pkg, 'prebuilds', 'linux-arm64', 'cfkit.glibc.node'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));  // plain JavaScript
  return pkg;
}

interface Row { items: number[]; scores: number[] }
interface Run { arch: string; simd: string; models: Record<string, { type: string; fitted: Row[]; reloaded: Row[]; foreign?: Row[] }> }

const skipReason = unavailable();
if (skipReason) console.warn(`arm64 check skipped: ${skipReason}`);

(skipReason ? describe.skip : describe)('the linux-arm64 prebuild under qemu-aarch64', () => {
  let x86: Run;
  let arm: Run;
  let x86Again: Run;

  beforeAll(() => {
    const dir = tmpDir('cfkit-arm64-');
    const pkg = stagePackage(dir);
    const run = (cmd: string, args: string[], env?: NodeJS.ProcessEnv): Run =>
      JSON.parse(execFileSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 240000 }));
    x86 = run(process.execPath, [workload, root, path.join(dir, 'x86')]);
    arm = run('qemu-aarch64', [armNode, workload, pkg, path.join(dir, 'arm'), path.join(dir, 'x86')], qemuEnv);
    // x86-64 loading the files arm64 saved.
    x86Again = run(process.execPath, [workload, root, path.join(dir, 'x86-again'), path.join(dir, 'arm')]);
  }, 280000);

  test('runs the arm64 addon with its NEON kernels', () => {
    expect(arm.arch).toBe('arm64');
    expect(arm.simd).toBe('neon');
    expect(x86.arch).toBe('x64');
  });

  // Scores agree to float tolerance; item lists agree wherever neighbouring scores are further
  // apart than that tolerance (a near-tie may swap).
  function expectClose(a: Row[], b: Row[], rel: number): void {
    expect(a.length).toBe(b.length);
    a.forEach((row, r) => {
      const other = b[r];
      expect(row.items.length).toBe(other.items.length);
      row.scores.forEach((s, j) => expect(Math.abs(s - other.scores[j])).toBeLessThanOrEqual(rel * (1e-3 + Math.abs(other.scores[j]))));
      row.items.forEach((item, j) => {
        const gapBefore = j > 0 ? other.scores[j - 1] - other.scores[j] : Infinity;
        const gapAfter = j + 1 < other.scores.length ? other.scores[j] - other.scores[j + 1] : Infinity;
        if (Math.min(gapBefore, gapAfter) > 2 * rel * (1e-3 + Math.abs(other.scores[j]))) expect(item).toBe(other.items[j]);
      });
    });
  }

  test.each(['ease', 'sansaCholmod', 'sansaIcf', 'mf'])('%s: fitted on arm64, recommends what x86-64 does', (name) => {
    expect(arm.models[name].type).toBe(x86.models[name].type);
    expectClose(arm.models[name].fitted, x86.models[name].fitted, 1e-4);
  });

  test.each(['ease', 'sansaCholmod', 'sansaIcf', 'mf'])('%s: save/load round trips on arm64 and across machines', (name) => {
    const m = arm.models[name];
    expect(m.reloaded).toEqual(m.fitted);  // same machine: bit for bit
    expectClose(m.foreign!, x86.models[name].fitted, 1e-5);  // arm64 scoring x86-64's file
    expectClose(x86Again.models[name].foreign!, m.fitted, 1e-5);  // x86-64 scoring arm64's file
  });

  test('MF and ICF-SANSA give the same bits on both machines (one canonical arithmetic)', () => {
    // MF's SGD kernels (scalar, AVX2, AVX-512, NEON) share one rounding order; ICF uses no BLAS.
    expect(arm.models.mf.fitted).toEqual(x86.models.mf.fitted);
    expect(arm.models.sansaIcf.fitted).toEqual(x86.models.sansaIcf.fitted);
  });
});
