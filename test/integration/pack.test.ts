import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from '../helpers/data';

const root = path.resolve(__dirname, '..', '..');

// Packs cfkit as it would be published (npm pack --ignore-scripts over what prepack builds), checks
// what the tarball holds, and installs it into empty projects three ways: with its prebuild, without
// a prebuild and without a compiler, and then with the compiler, as the fix says. Builds missing
// prebuilds and dist/ first (the arm64 one needs crossbuild-essential-arm64).
const npmEnv = { ...process.env, npm_config_loglevel: 'error', npm_config_fund: 'false', npm_config_audit: 'false' };
const sh = (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = npmEnv) =>
  execFileSync(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20 });

const MAX_PACKED_BYTES = 8 * 2 ** 20;

interface Packed { filename: string; size: number; unpackedSize: number; files: { path: string }[] }

describe('the packed package', () => {
  let out: string;
  let packed: Packed;
  let files: string[];

  beforeAll(() => {
    if (!fs.existsSync(path.join(root, 'prebuilds', 'linux-x64'))) sh('npm', ['run', 'prebuild'], root);
    if (!fs.existsSync(path.join(root, 'prebuilds', 'linux-arm64'))) sh('npm', ['run', 'prebuild:arm64'], root);
    if (!fs.existsSync(path.join(root, 'dist', 'index.mjs'))) sh('npm', ['run', 'build:ts'], root);
    out = tmpDir('cfkit-pack-');
    packed = JSON.parse(sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], root))[0];
    files = packed.files.map((f) => f.path);
    process.stdout.write(`cfkit tarball: ${(packed.size / 2 ** 20).toFixed(2)} MiB packed, ${(packed.unpackedSize / 2 ** 20).toFixed(2)} MiB unpacked, ${files.length} files\n`);
  }, 600000);

  const newProject = (name: string) => {
    const dir = path.join(out, name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
    return dir;
  };

  test('holds both prebuilds and the sources, and no test, bench or CI files', () => {
    expect(files).toEqual(expect.arrayContaining(['prebuilds/linux-x64/cfkit.glibc.node', 'prebuilds/linux-arm64/cfkit.glibc.node', 'dist/index.mjs', 'dist/index.d.ts', 'binding.gyp', 'sources.json', 'scripts/install.js', 'README.md', 'docs/serving.md']));
    const sources = JSON.parse(fs.readFileSync(path.join(root, 'sources.json'), 'utf8')) as { core: string[]; addon: string[] };
    expect(files).toEqual(expect.arrayContaining([...sources.core, ...sources.addon]));
    const unwanted = files.filter((f) => /^(test|bench|\.ci|build|build-arm64|examples|docs\/api|native\/tests|scripts\/arm64)\//.test(f) || f.endsWith('.tgz'));
    expect(unwanted).toEqual([]);
    expect(packed.size).toBeLessThan(MAX_PACKED_BYTES);
  });

  test('its markdown links only to files it contains', () => {
    const dir = path.join(out, 'unpacked');
    fs.mkdirSync(dir);
    sh('tar', ['-xzf', path.join(out, packed.filename), '-C', dir], out);
    const broken: string[] = [];
    for (const md of files.filter((f) => f.endsWith('.md'))) {
      const text = fs.readFileSync(path.join(dir, 'package', md), 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = m[1];
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;  // URLs, anchors
        const rel = path.posix.normalize(path.posix.join(path.posix.dirname(md), target.split('#')[0]));
        if (!files.includes(rel) && !files.some((f) => f.startsWith(rel.replace(/\/?$/, '/')))) broken.push(`${md}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  test('installs with its prebuild, without a compiler, and fits a model', () => {
    const project = newProject('with-prebuild');
    // No compiler is needed: the prebuild loads, so install.js never looks for one.
    sh('npm', ['install', '--prefer-offline', path.join(out, packed.filename)], project, { ...npmEnv, CXX: '/nonexistent/g++' });
    expect(fs.existsSync(path.join(project, 'node_modules', 'cfkit', 'install-failure.json'))).toBe(false);
    const script = `
      const { EASE, syntheticInteractions, backendInfo } = require('cfkit');
      (async () => {
        const d = syntheticInteractions({ users: 300, items: 80, seed: 3 });
        const m = await EASE.fit(d, { l2: 20 });
        const r = await m.recommendUsers([0], { k: 5 });
        console.log(JSON.stringify({ n: r.items(0).length, cuda: backendInfo().cuda.libraryPath }));
        m.dispose();
      })();`;
    // Run outside the repository so nothing resolves to the working tree's build/.
    const res = JSON.parse(sh(process.execPath, ['-e', script], project));
    expect(res.n).toBe(5);
    if (files.includes('prebuilds/linux-x64/libcfkit_cuda.so'))
      expect(res.cuda).toContain(path.join('node_modules', 'cfkit', 'prebuilds', 'linux-x64', 'libcfkit_cuda.so'));
    expect(sh(process.execPath, ['--input-type=module', '-e', "import { EASE } from 'cfkit'; console.log(typeof EASE.fit)"], project).trim()).toBe('function');
    expect(sh(path.join(project, 'node_modules', '.bin', 'cfkit'), ['doctor'], project)).toMatch(/SuiteSparse/);
  }, 300000);

  test('without a prebuild or a compiler, installs, records why, and the error and doctor give the fix; the fix works', () => {
    const unpacked = path.join(out, 'no-prebuild');
    fs.mkdirSync(unpacked);
    sh('tar', ['-xzf', path.join(out, packed.filename), '-C', unpacked], out);
    fs.rmSync(path.join(unpacked, 'package', 'prebuilds'), { recursive: true });
    const tarball = path.join(out, 'cfkit-no-prebuild.tgz');
    sh('tar', ['-czf', tarball, '-C', unpacked, 'package'], out);

    const project = newProject('no-compiler');
    const installed = path.join(project, 'node_modules', 'cfkit');
    sh('npm', ['install', '--prefer-offline', tarball], project, { ...npmEnv, CXX: '/nonexistent/g++' });  // exits 0
    const record = JSON.parse(fs.readFileSync(path.join(installed, 'install-failure.json'), 'utf8'));
    expect(record.reason).toBe('no C++ compiler found (looked for $CXX=/nonexistent/g++)');

    const load = spawnSync(process.execPath, ['-e', "require('cfkit').backendInfo()"], { cwd: project, encoding: 'utf8' });
    expect(load.status).not.toBe(0);
    expect(load.stderr).toContain('E_NATIVE_LOAD');
    expect(load.stderr).toContain('could not build it: no C++ compiler found (looked for $CXX=/nonexistent/g++)');
    expect(load.stderr).toMatch(/Fix it on .*:\n\s+sudo apt-get install -y g\+\+ make python3 libsuitesparse-dev libopenblas-dev\n\s+npm rebuild cfkit/);
    expect(load.stderr).not.toContain('npm run build');
    const doctor = spawnSync(path.join(project, 'node_modules', '.bin', 'cfkit'), ['doctor'], { cwd: project, encoding: 'utf8' });
    expect(doctor.status).toBe(1);
    expect(doctor.stdout).toContain('could not build it: no C++ compiler found');
    expect(doctor.stdout).toContain('npm rebuild cfkit');

    // The fix, with the compiler back, in a terminal (script(1)) so the progress written to
    // /dev/tty shows as a user would see it: npm itself hides an install script's output.
    const rebuild = spawnSync('script', ['-qec', 'npm rebuild cfkit', '/dev/null'], { cwd: project, env: npmEnv, encoding: 'utf8', timeout: 400000 });
    expect(rebuild.status).toBe(0);
    expect(rebuild.stdout).toMatch(/cfkit: no prebuilt addon loads on linux-x64/);
    expect(rebuild.stdout).toMatch(/cfkit: compiling \d+\/\d+: native\//);
    expect(rebuild.stdout).toMatch(/cfkit: built the addon from source in \d+ s/);
    expect(fs.existsSync(path.join(installed, 'install-failure.json'))).toBe(false);
    expect(fs.existsSync(path.join(installed, 'build', 'Release', 'cfkit.node'))).toBe(true);
    const fit = `
      const { SANSA, syntheticInteractions } = require('cfkit');
      SANSA.fit(syntheticInteractions({ users: 300, items: 80, seed: 3 }), { l2: 20 })
        .then((m) => m.recommendUsers([0], { k: 4 }))
        .then((r) => console.log(r.items(0).length));`;
    expect(sh(process.execPath, ['-e', fit], project).trim()).toBe('4');
  }, 600000);
});
