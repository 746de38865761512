import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { backendInfo, DeviceError, NativeLoadError, resolveDevice } from '../../lib';
import { loadError, openBlasCoreFor, openBlasCoreForThisCpu } from '../../lib/native';

describe('backend and loader', () => {
  test('backendInfo reports BLAS, SuiteSparse, threads and CUDA (found or why not)', () => {
    const info = backendInfo();
    expect(info.cpu.blas).toMatch(/OpenBLAS|BLAS/);
    expect(info.suitesparse.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(info.suitesparse.cholmod).toMatch(/^\d+\.\d+\.\d+$/);
    expect(info.cpu.threads).toBeGreaterThanOrEqual(1);
    expect(info.napiVersion).toBe(8);
    if (info.device === 'cpu') expect(info.reason).toBeTruthy();
    else expect(info.cuda.cublasLoaded).toBe(true);
  });

  test("device selection: 'cpu' never probes, 'auto' falls back, 'cuda' explains", () => {
    expect(resolveDevice('cpu')).toBe('cpu');
    const info = backendInfo();
    expect(resolveDevice('auto')).toBe(info.device);
    if (info.device === 'cpu') expect(() => resolveDevice('cuda')).toThrow(DeviceError);
    expect(() => resolveDevice('tpu' as never)).toThrow(DeviceError);
  });

  test('CFKIT_DEVICE=cpu disables probing', () => {
    const root = path.resolve(__dirname, '..', '..');
    const out = execFileSync(process.execPath, ['-e', "console.log(JSON.stringify(require('./dist').backendInfo().cuda))"], {
      cwd: root,
      env: { ...process.env, CFKIT_DEVICE: 'cpu' },
    }).toString();
    const cuda = JSON.parse(out);
    expect(cuda.available).toBe(false);
    expect(cuda.reason).toMatch(/CFKIT_DEVICE=cpu/);
    expect(cuda.libraryLoaded).toBe(false);
  });

  test('OpenBLAS gets the kernel family the CPU supports unless the user chose one', () => {
    expect(openBlasCoreFor(new Set(['sse3', 'avx', 'avx2', 'fma', 'avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl']))).toBe('SkylakeX');
    expect(openBlasCoreFor(new Set(['avx2', 'fma', 'avx512f']))).toBe('Haswell');
    expect(openBlasCoreFor(new Set(['sse3', 'avx']))).toBeUndefined();
    const root = path.resolve(__dirname, '..', '..');
    const blasIn = (extra: Record<string, string>) => {
      const env: NodeJS.ProcessEnv = { ...process.env, CFKIT_DEVICE: 'cpu', ...extra };
      if (!('OPENBLAS_CORETYPE' in extra)) delete env.OPENBLAS_CORETYPE;
      return execFileSync(process.execPath, ['-e', "console.log(require('./dist').backendInfo().cpu.blas)"], { cwd: root, env }).toString();
    };
    const auto = blasIn({});
    if (!/DYNAMIC_ARCH/.test(auto)) return; // a BLAS that cannot switch kernels
    const core = openBlasCoreForThisCpu();
    if (core) expect(auto).toContain(`core=${core}`);
    expect(blasIn({ OPENBLAS_CORETYPE: 'Haswell' })).toContain('core=Haswell');
    // And in this Jest process, through test/global-setup.ts.
    if (core && process.env.OPENBLAS_CORETYPE === core) expect(backendInfo().cpu.blas).toContain(`core=${core}`);
  });

  test('OpenBLAS workers sleep right after a call unless the user chose a thread timeout', () => {
    const root = path.resolve(__dirname, '..', '..');
    const timeoutIn = (extra: Record<string, string>) => {
      const env: NodeJS.ProcessEnv = { ...process.env, CFKIT_DEVICE: 'cpu', ...extra };
      if (!('OPENBLAS_THREAD_TIMEOUT' in extra)) delete env.OPENBLAS_THREAD_TIMEOUT;
      const script = "require('./dist').backendInfo(); console.log(process.env.OPENBLAS_THREAD_TIMEOUT)";
      return execFileSync(process.execPath, ['-e', script], { cwd: root, env }).toString().trim();
    };
    expect(timeoutIn({})).toBe('4');
    expect(timeoutIn({ OPENBLAS_THREAD_TIMEOUT: '26' })).toBe('26');
  });

  test('load errors name the platform, libc, the file and the fix', () => {
    const e = loadError(new Error('libcholmod.so.3: cannot open shared object file: No such file or directory'), '/x/cfkit.node');
    expect(e).toBeInstanceOf(NativeLoadError);
    expect(e.message).toContain(`platform: ${process.platform}, arch: ${process.arch}`);
    expect(e.message).toMatch(/libc: (glibc [\d.]+|musl)/);
    expect(e.message).toContain('/x/cfkit.node (not found)');
    expect(e.message).toMatch(/libcholmod\.so\.3 is missing: install SuiteSparse \(.*libsuitesparse-dev.*\), then npm run build/);
    expect(loadError(new Error("/lib/libc.so.6: version `GLIBC_2.38' not found"), 'f').message).toMatch(/glibc >= 2.38/);
    expect(loadError(new Error('No native build was found for platform=linux'), 'f').message).toMatch(/npm run build/);
    expect(loadError(new Error('libopenblas.so.0: cannot open shared object file'), 'f').message).toMatch(/libopenblas-dev/);
  });

  test('the addon loads in a worker thread and the worker exits cleanly', async () => {
    const root = path.resolve(__dirname, '..', '..');
    const code = `
      const { parentPort } = require('node:worker_threads');
      const c = require(${JSON.stringify(path.join(root, 'dist'))});
      const d = c.syntheticInteractions({ users: 100, items: 30, seed: 1 });
      c.EASE.fit(d, { l2: 5 }).then(async (m) => {
        const r = await m.recommendUsers([0], { k: 3 });
        m.dispose();
        parentPort.postMessage(r.items(0).length);
      });`;
    const w = new Worker(code, { eval: true });
    // Listen for 'exit' before awaiting the message: a worker that ends quickly has its last message
    // drained and 'exit' emitted in one callback, before an await could attach a late listener.
    const exited = new Promise((resolve) => w.once('exit', resolve));
    const msg = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    expect(msg).toBe(3);
    expect(await exited).toBe(0);
  });
});
