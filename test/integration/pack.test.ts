import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from '../helpers/data';

const root = path.resolve(__dirname, '..', '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

// Packs cfkit as it would be published, installs the tarball into an empty project, and trains
// there. Needs prebuilds/ (npm run prebuild) and dist/ (npm run build:ts); builds them when missing.
describe('the packed package', () => {
  test('installs from its tarball and fits a model in a fresh project', () => {
    const sh = (args: string[], cwd: string) => execFileSync(npm, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error' } }).toString();
    if (!fs.existsSync(path.join(root, 'prebuilds'))) sh(['run', 'prebuild'], root);
    if (!fs.existsSync(path.join(root, 'dist', 'index.mjs'))) sh(['run', 'build:ts'], root);
    const out = tmpDir('cfkit-pack-');
    const packed = JSON.parse(sh(['pack', '--json', '--pack-destination', out], root));
    const files: string[] = packed[0].files.map((f: { path: string }) => f.path);
    expect(files).toContain('prebuilds/linux-x64/cfkit.glibc.node');
    expect(files).toContain('dist/index.mjs');
    expect(files.some((f) => f.startsWith('test/') || f.startsWith('bench/'))).toBe(false);
    const project = path.join(out, 'app');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    sh(['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(out, packed[0].filename)], project);
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
    const res = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: project }).toString());
    expect(res.n).toBe(5);
    expect(res.cuda).toContain(path.join('node_modules', 'cfkit', 'prebuilds', 'linux-x64', 'libcfkit_cuda.so'));
    const esm = execFileSync(process.execPath, ['--input-type=module', '-e', "import { EASE } from 'cfkit'; console.log(typeof EASE.fit)"], { cwd: project }).toString().trim();
    expect(esm).toBe('function');
    const bin = execFileSync(path.join(project, 'node_modules', '.bin', 'cfkit'), ['doctor'], { cwd: project }).toString();
    expect(bin).toMatch(/SuiteSparse/);
  }, 300000);
});
