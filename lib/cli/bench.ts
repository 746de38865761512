/** `cfkit bench` (a config's models on its data, against a baseline) and `cfkit report` (an HTML page). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { CfkitError } from '../errors';
import { writeFileAtomic } from '../io/atomic';
import { compareResults, githubActionBenchmark, markdownTable } from '../bench/compare';
import { ConfigError } from '../bench/config';
import { renderReport } from '../bench/report';
import { BenchResults, qualityOnly, readConfig, RESULTS_SCHEMA, runBench } from '../bench/run';
import { int } from './options';

async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, async (fd) => void (await fd.writeFile(JSON.stringify(value, null, 2) + '\n')));
}

export async function readResults(file: string): Promise<BenchResults> {
  let r: BenchResults;
  try {
    r = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch (err) {
    throw new CfkitError((err as NodeJS.ErrnoException).code ? 'E_IO' : 'E_FORMAT', `cannot read results ${file}: ${(err as Error).message}`);
  }
  if (r?.schema !== RESULTS_SCHEMA || !Array.isArray(r.results)) throw new CfkitError('E_FORMAT', `${file} is not a cfkit bench results file (schema ${RESULTS_SCHEMA})`);
  return r;
}

function resultsTable(r: BenchResults): string {
  const head = ['dataset', 'model', ...r.metrics, 'fit s', 'peak RSS MiB', 'model MiB'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`];
  for (const x of r.results) {
    const cells = x.error
      ? [...r.metrics.map(() => ''), `**${x.error.code}**: ${x.error.message}`, '', '']
      : [
          ...r.metrics.map((m) => (x.metrics[m] ? `${x.metrics[m].mean.toFixed(4)} ± ${x.metrics[m].stderr.toFixed(4)}` : '')),
          x.fitSeconds ? x.fitSeconds.median.toFixed(2) : '',
          x.peakRssMiB !== undefined ? x.peakRssMiB.toFixed(0) : '',
          x.modelBytes !== undefined ? (x.modelBytes / 2 ** 20).toFixed(2) : '',
        ];
    lines.push(`| ${[x.dataset, x.model, ...cells].join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

interface BenchFlags {
  out?: string;
  baseline?: string;
  saveBaseline?: string;
  qualityOnly?: boolean;
  format: 'json' | 'github-action-benchmark';
  threads?: number;
}

async function bench(configFile: string, o: BenchFlags): Promise<void> {
  if (o.format === 'github-action-benchmark' && !o.out) throw new ConfigError('--out', 'github-action-benchmark needs -o DIR for its two files');
  const config = await readConfig(configFile);
  if (o.threads !== undefined) config.threads = o.threads;
  const baseline = o.baseline ? await readResults(o.baseline) : undefined;
  const results = await runBench(config, {
    onResult: (r) =>
      process.stderr.write(
        `${r.dataset} / ${r.model}: ${r.error ? `${r.error.code} ${r.error.message}` : `fit ${r.fitSeconds!.median.toFixed(2)} s, ${Object.entries(r.metrics).map(([m, v]) => `${m} ${v.mean.toFixed(4)}`).join(', ')}`}\n`,
      ),
  });
  if (o.out) {
    if (o.format === 'github-action-benchmark') {
      const g = githubActionBenchmark(results);
      await fs.promises.mkdir(o.out, { recursive: true });
      await writeJson(path.join(o.out, 'customBiggerIsBetter.json'), g.customBiggerIsBetter);
      await writeJson(path.join(o.out, 'customSmallerIsBetter.json'), g.customSmallerIsBetter);
    } else await writeJson(o.out, results);
  }
  if (o.saveBaseline) await writeJson(o.saveBaseline, o.qualityOnly ? qualityOnly(results) : results);
  let table: string;
  if (baseline) {
    const c = compareResults(results, baseline);
    table = `### cfkit bench: ${results.name ?? path.basename(configFile)} against ${path.basename(o.baseline!)}\n\n${markdownTable(c)}`;
    if (c.regressions) process.exitCode = 1;
  } else table = `### cfkit bench: ${results.name ?? path.basename(configFile)}\n\n${resultsTable(results)}`;
  if (!baseline && results.results.some((r) => r.error)) process.exitCode = 1;
  process.stdout.write(table);
  const summary = process.env.GITHUB_STEP_SUMMARY;
  if (summary) await fs.promises.appendFile(summary, table + '\n');
}

export function benchCommands(program: Command): void {
  program
    .command('bench <config>')
    .description('fit and evaluate the models of a JSON config on its data; with --baseline, exit 1 on a regression')
    .option('-o, --out <file>', 'write the results (a folder with --format github-action-benchmark)')
    .option('--baseline <file>', 'results to compare with: quality metrics within their tolerance, fit times within 1.3x on the same machine')
    .option('--save-baseline <file>', 'write these results as the new baseline')
    .option('--quality-only', 'leave timings and memory out of the saved baseline (one for any machine)')
    .addOption(new Option('--format <format>', 'what -o gets').choices(['json', 'github-action-benchmark']).default('json'))
    .option('--threads <n>', 'worker threads (overrides the config)', int)
    .action(async (config: string, o: BenchFlags) => {
      try {
        await bench(config, o);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`cfkit: [E_INPUT] ${err.message}\n`);
        process.exitCode = 2;
      }
    });

  program
    .command('report <results...>')
    .description('one self-contained HTML page with SVG charts from bench results files')
    .requiredOption('-o, --out <file>', 'the HTML file to write')
    .action(async (files: string[], o: { out: string }) => {
      const all = await Promise.all(files.map(readResults));
      const html = renderReport(all);
      await writeFileAtomic(o.out, async (fd) => void (await fd.writeFile(html)));
      process.stderr.write(`wrote ${o.out}\n`);
    });
}
