// cfkit report's page rendered by headless Chromium (Debian's chromium, which .ci/run installs): every
// chart must be drawn where the page lays it out, and the page must log no console errors.
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { decodePng } from '../helpers/png';
import { tmpDir } from '../helpers/data';

const run = promisify(execFile);
const cli = path.resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const chromium = ['chromium', 'chromium-browser', 'google-chrome'].find((c) => spawnSync(c, ['--version']).status === 0);

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars', '--force-device-scale-factor=1'];

async function browse(args: string[], dir: string): Promise<{ stdout: string; stderr: string }> {
  const profile = fs.mkdtempSync(path.join(dir, 'profile-'));
  return run(chromium!, [...FLAGS, `--user-data-dir=${profile}`, '--enable-logging=stderr', '--v=0', ...args], { maxBuffer: 1 << 26, timeout: 60_000 });
}

(chromium ? describe : describe.skip)('cfkit report in a browser', () => {
  test('each chart has drawn, coloured pixels where it sits, and the page logs no console errors', async () => {
    const dir = tmpDir();
    const config = path.join(dir, 'config.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        name: 'report test',
        datasets: [{ name: 'toy', synthetic: { users: 1200, items: 250, seed: 3 }, split: { kind: 'holdout-users', testUsers: 200 } }],
        models: [
          { type: 'ease', params: { l2: 50 } },
          { type: 'sansa', params: { l2: 20, factorizer: 'cholmod' }, sweep: { density: [0.02, 0.05, 0.2] } },
        ],
        metrics: ['recall@20', 'ndcg@20'],
      }),
    );
    const results = path.join(dir, 'results.json');
    await run(process.execPath, [cli, 'bench', config, '-o', results]);
    const page = path.join(dir, 'report.html');
    await run(process.execPath, [cli, 'report', results, '-o', page]);
    const html = fs.readFileSync(page, 'utf8');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);  // self-contained
    // recall, ndcg, fit time, model size, and the SANSA sweep.
    expect(html.match(/<figure class="chart">/g)).toHaveLength(5);

    // Where each chart is: a copy of the page with a script that writes the boxes into the DOM.
    const probe = path.join(dir, 'probe.html');
    const script = `<pre id="boxes"></pre><script>document.getElementById('boxes').textContent = JSON.stringify([...document.querySelectorAll('figure.chart svg')].map((s) => { const r = s.getBoundingClientRect(); return [r.left + scrollX, r.top + scrollY, r.width, r.height]; }));</script>`;
    fs.writeFileSync(probe, html.replace('</body>', `${script}</body>`));
    const size = '--window-size=1300,2400';
    const dom = await browse([size, '--dump-dom', `file://${probe}`], dir);
    const boxes = JSON.parse(/<pre id="boxes">([^<]*)<\/pre>/.exec(dom.stdout)![1]) as [number, number, number, number][];
    expect(boxes).toHaveLength(5);

    const png = path.join(dir, 'report.png');
    const shot = await browse([size, `--screenshot=${png}`, `file://${page}`], dir);
    expect(shot.stderr).not.toMatch(/CONSOLE.*(error|Uncaught)/i);
    const img = decodePng(fs.readFileSync(png));
    for (const [left, top, width, height] of boxes) {
      expect(top + height).toBeLessThanOrEqual(img.height);
      let ink = 0, colour = 0, total = 0;
      for (let y = Math.floor(top); y < top + height; y++)
        for (let x = Math.floor(left); x < left + width; x++) {
          const i = (y * img.width + x) * 4;
          const [r, g, b] = [img.rgba[i], img.rgba[i + 1], img.rgba[i + 2]];
          total++;
          if (r < 200 || g < 200 || b < 200) ink++;
          if (Math.max(r, g, b) - Math.min(r, g, b) > 60) colour++;
        }
      expect(ink / total).toBeGreaterThan(0.01);  // axes, labels and marks
      expect(colour).toBeGreaterThan(100);  // bars or lines in the palette's colours
    }
  }, 180_000);
});
