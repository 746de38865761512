import * as fs from 'node:fs';
import * as path from 'node:path';

// The seeded mutation fuzzer (test/fuzz/fuzzer.js) over the data reader and the model container,
// for a bounded time: CFKIT_FUZZ_SECONDS (default 20) with seed CFKIT_FUZZ_SEED (default 1). Every
// mutated input must load or fail with a CfkitError. Longer runs: npm run fuzz -- --seconds 600.
interface Finding { run: number; seed: number; target: string; error: string; file?: string }
interface FuzzResult { runs: number; findings: Finding[]; outcomes: Record<string, number> }
type RunFuzz = (o: { seconds: number; seed: number; out?: string }) => Promise<FuzzResult>;

const root = path.resolve(__dirname, '..', '..');
const describeBuilt = fs.existsSync(path.join(root, 'dist', 'index.js')) ? describe : describe.skip;
const seconds = Number(process.env.CFKIT_FUZZ_SECONDS ?? 20);
const seed = Number(process.env.CFKIT_FUZZ_SEED ?? 1);

describeBuilt('mutation fuzzer', () => {
  test(`every mutated data file and model file loads or fails with a CfkitError (${seconds} s, seed ${seed})`, async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runFuzz } = require('./fuzzer') as { runFuzz: RunFuzz };
    const res = await runFuzz({ seconds, seed, out: path.join(root, 'build', 'fuzz-findings') });
    console.log(`fuzz: ${res.runs} runs, ${res.findings.length} findings; ${JSON.stringify(res.outcomes)}`);
    expect(res.findings).toEqual([]);
    expect(res.runs).toBeGreaterThan(1000);
    // both targets were reached, past the checksums too
    expect(res.outcomes['load ok'] ?? 0).toBeGreaterThan(0);
    expect(res.outcomes['read ok'] ?? 0).toBeGreaterThan(0);
  }, (seconds + 60) * 1000);
});
