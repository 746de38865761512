#!/usr/bin/env node
/** The cfkit command line: demo, train, evaluate, recommend, doctor. */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { backendInfo } from '../backend';
import { CfkitError } from '../errors';
import { Interactions } from '../data/interactions';
import { FileOptions } from '../data/readers';
import { holdoutUsers } from '../data/split';
import { syntheticInteractions } from '../data/synthetic';
import { evaluate, evaluateScores } from '../eval/metrics';
import { EASE } from '../models/ease';
import { InfiniteAE } from '../models/infae';
import type { Recommender } from '../models/recommender';
import { SANSA } from '../models/sansa';
import { load } from '../models/load';
import { version } from '../version';
import { progressReporter } from './progress';
import { table } from './table';

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected an integer');
  return n;
};
const num = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
};

interface DataFlags {
  format?: FileOptions['format'];
  implicit?: string | boolean;
  duplicates?: FileOptions['duplicates'];
  user?: string;
  item?: string;
  rating?: string;
  header?: boolean;
}

function fileOptions(f: DataFlags): FileOptions {
  const col = (c?: string) => (c === undefined ? undefined : /^\d+$/.test(c) ? Number(c) : c);
  const implicit = f.implicit === undefined ? undefined : f.implicit === true ? true : { threshold: num(String(f.implicit)) };
  return { format: f.format, implicit, duplicates: f.duplicates, user: col(f.user), item: col(f.item), rating: col(f.rating), header: f.header };
}

function dataOptions(cmd: Command): Command {
  return cmd
    .option('--format <format>', 'auto | csv | tsv | movielens | lightgcn', 'auto')
    .option('--implicit [threshold]', 'treat interactions as implicit; with a threshold keep rating >= threshold')
    .option('--duplicates <policy>', 'error | sum | max | first | last', 'error')
    .option('--user <column>', 'user column (name or 0-based index)')
    .option('--item <column>', 'item column (name or 0-based index)')
    .option('--rating <column>', 'rating column (name or 0-based index)')
    .option('--header', 'the first line is a header');
}

async function loadData(file: string, flags: DataFlags): Promise<Interactions> {
  const t0 = performance.now();
  const data = await Interactions.fromFile(file, fileOptions(flags));
  process.stderr.write(`loaded ${data.toString()} in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
  return data;
}

interface ModelFlags {
  model?: string;
  l2?: number;
  density?: number;
  factorizer?: 'cholmod' | 'icf';
  scans?: number;
  finetune?: number;
  threads?: number;
}

const MODELS = ['ease', 'sansa', 'infae'];

async function fitModel(train: Interactions, f: ModelFlags): Promise<{ model: Recommender; seconds: number }> {
  const bar = progressReporter();
  const t0 = performance.now();
  const common = { threads: f.threads, onProgress: bar.onProgress };
  try {
    let model: Recommender;
    switch (f.model ?? 'ease') {
      case 'ease':
        model = await EASE.fit(train, { l2: f.l2 ?? 500, ...common });
        break;
      case 'sansa':
        model = await SANSA.fit(train, { l2: f.l2, density: f.density, factorizer: f.factorizer, umr: { scans: f.scans, finetune: f.finetune }, ...common });
        break;
      case 'infae':
        model = await InfiniteAE.fit(train, { lambda: f.l2, ...common });
        break;
      default:
        throw new CfkitError('E_INPUT', `unknown model '${f.model}' (available: ${MODELS.join(', ')})`);
    }
    return { model, seconds: (performance.now() - t0) / 1000 };
  } finally {
    bar.stop();
  }
}

function modelOptions(cmd: Command): Command {
  return cmd
    .option('--model <type>', `model: ${MODELS.join(' | ')}`, 'ease')
    .option('--l2 <x>', 'ridge strength (EASE/SANSA l2, ∞-AE λ); default per model', num)
    .option('--density <x>', 'SANSA weight density', num)
    .option('--factorizer <name>', "SANSA factorizer: 'cholmod' | 'icf'")
    .option('--scans <n>', 'SANSA UMR scans', int)
    .option('--finetune <n>', 'SANSA UMR finetune steps', int)
    .option('--threads <n>', 'worker threads', int);
}

async function demo(opts: { users: number; items: number; seed: number; l2: number; threads?: number; json?: boolean }): Promise<void> {
  const t0 = performance.now();
  const data = syntheticInteractions({ users: opts.users, items: opts.items, seed: opts.seed });
  const testUsers = Math.max(1, Math.floor(opts.users / 10));
  const { train, test } = holdoutUsers(data, { testUsers, seed: opts.seed });
  if (!opts.json) {
    process.stdout.write(`cfkit ${version} demo: synthetic data with planted clusters and power-law popularity\n`);
    process.stdout.write(`  ${data.toString()}; training on ${train.numUsers} users, testing on ${test.inputs.numUsers} held-out users\n\n`);
  }
  const { model, seconds } = await fitModel(train, { model: 'ease', l2: opts.l2, threads: opts.threads });
  const metrics = ['recall@20', 'ndcg@100', 'hit@10', 'coverage@20'];
  const easeReport = await evaluate(model, test, metrics, { threads: opts.threads });
  // Popularity baseline: every user gets the training item counts as scores.
  const counts = train.itemCounts();
  const rows = test.inputs.numUsers;
  const pop = new Float32Array(rows * train.numItems);
  for (let r = 0; r < rows; r++) pop.set(counts, r * train.numItems);
  const popReport = await evaluateScores(pop, test, metrics);
  model.dispose();
  if (opts.json) {
    process.stdout.write(JSON.stringify({ ease: easeReport.metrics, popularity: popReport.metrics, fitSeconds: seconds }, null, 2) + '\n');
    return;
  }
  process.stdout.write(
    table(
      ['model', ...metrics, 'fit s'],
      [
        ['popularity', ...metrics.map((m) => popReport.metrics[m]), '-'],
        [`EASE (l2=${opts.l2})`, ...metrics.map((m) => easeReport.metrics[m]), seconds],
      ],
    ) + '\n',
  );
  process.stdout.write(`\ndone in ${((performance.now() - t0) / 1000).toFixed(1)} s (${backendInfo().device.toUpperCase()})\n`);
}

export function buildProgram(): Command {
  const program = new Command();
  // Usage errors come back as CommanderErrors (subcommands inherit both settings), so main() prints
  // them once, with a cfkit code, instead of commander printing and exiting on its own.
  program.exitOverride().configureOutput({ outputError: () => undefined });
  program.name('cfkit').description('Collaborative-filtering recommenders: train, evaluate and serve').version(version);

  program
    .command('demo')
    .description('train EASE on generated data and print a metrics table (no files needed)')
    .option('--users <n>', 'synthetic users', int, 6000)
    .option('--items <n>', 'synthetic items', int, 2500)
    .option('--seed <n>', 'random seed', int, 42)
    .option('--l2 <x>', 'EASE ridge strength', num, 200)
    .option('--threads <n>', 'worker threads', int)
    .option('--json', 'machine-readable output')
    .action(demo);

  modelOptions(dataOptions(program.command('train <data>')))
    .description('train a model on a data file and save it')
    .requiredOption('-o, --out <file>', 'where to save the model')
    .action(async (file: string, o: DataFlags & ModelFlags & { out: string }) => {
      const data = await loadData(file, o);
      const { model, seconds } = await fitModel(data, o);
      await model.save(o.out);
      model.dispose();
      process.stdout.write(`trained ${model.type} in ${seconds.toFixed(2)} s; saved to ${o.out}\n`);
    });

  modelOptions(dataOptions(program.command('evaluate <data>')))
    .description('hold out users (strong generalization), train on the rest, and report metrics')
    .option('--test-users <n>', 'held-out test users', int, 600)
    .option('--min-interactions <n>', 'drop users with fewer interactions first', int, 5)
    .option('--metrics <list>', 'comma-separated metrics', 'recall@20,recall@50,ndcg@100')
    .option('--seed <n>', 'random seed', int, 42)
    .option('--json', 'machine-readable output')
    .action(async (file: string, o: DataFlags & ModelFlags & { testUsers: number; minInteractions: number; metrics: string; seed: number; json?: boolean }) => {
      const data = (await loadData(file, o)).dropUsersBelow(o.minInteractions);
      const { train, test } = holdoutUsers(data, { testUsers: o.testUsers, seed: o.seed });
      const { model, seconds } = await fitModel(train, o);
      const metrics = o.metrics.split(',').map((s) => s.trim()).filter(Boolean);
      const report = await evaluate(model, test, metrics, { threads: o.threads, train });
      model.dispose();
      if (o.json) {
        process.stdout.write(JSON.stringify({ model: model.type, ...report, fitSeconds: seconds }, null, 2) + '\n');
        return;
      }
      process.stdout.write(table(['metric', 'mean', 'stderr'], metrics.map((m) => [m, report.metrics[m.toLowerCase()], report.stderr[m.toLowerCase()]])) + '\n');
      process.stdout.write(`\n${model.type}: ${report.users} test users; fit ${seconds.toFixed(2)} s, evaluation ${report.seconds.toFixed(2)} s\n`);
    });

  program
    .command('recommend')
    .description('top-k items from a saved model, for known users or for a list of items')
    .requiredOption('-m, --model <file>', 'a model saved by cfkit')
    .option('--user <id...>', 'known user id(s)')
    .option('--items <ids>', 'comma-separated item ids of a new user')
    .option('--similar <id>', 'items similar to this item')
    .option('-k, --k <n>', 'how many', int, 10)
    .option('--json', 'machine-readable output')
    .action(async (o: { model: string; user?: string[]; items?: string; similar?: string; k: number; json?: boolean }) => {
      const model = await load(o.model);
      try {
        const parseId = (s: string) => (/^-?\d+$/.test(s) ? Number(s) : s);
        let recs;
        let labels: string[];
        if (o.user) {
          recs = await model.recommendUsers(o.user.map(parseId), { k: o.k });
          labels = o.user.map((u) => `user ${u}`);
        } else if (o.items) {
          recs = await model.recommendItems([o.items.split(',').map((s) => parseId(s.trim()))], { k: o.k });
          labels = ['new user'];
        } else if (o.similar) {
          recs = await model.similarItems([parseId(o.similar)], { k: o.k });
          labels = [`similar to ${o.similar}`];
        } else throw new CfkitError('E_INPUT', 'give --user, --items or --similar');
        const rows = recs.toArray();
        if (o.json) process.stdout.write(JSON.stringify(rows.map((r, i) => ({ for: labels[i], ...r }))) + '\n');
        else rows.forEach((r, i) => process.stdout.write(`${labels[i]}: ${r.items.join(', ')}\n`));
      } finally {
        model.dispose();
      }
    });

  program
    .command('doctor')
    .description('show what cfkit found: BLAS, SuiteSparse, threads, CUDA')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => {
      const info = backendInfo();
      if (o.json) {
        process.stdout.write(JSON.stringify(info, null, 2) + '\n');
        return;
      }
      const lines = [
        `cfkit ${version} on ${process.platform}-${process.arch}, Node ${process.version} (Node-API ${info.napiVersion})`,
        `device (auto): ${info.device}${info.reason ? ` — ${info.reason}` : ''}`,
        `BLAS: ${info.cpu.blas} (${info.cpu.blasThreads} threads)`,
        `CPU: ${info.cpu.threads} hardware threads, SIMD ${info.cpu.simd}`,
        `SuiteSparse ${info.suitesparse.version} (CHOLMOD ${info.suitesparse.cholmod}, COLAMD ${info.suitesparse.colamd})`,
        `CUDA backend: ${info.cuda.libraryLoaded ? info.cuda.libraryPath : 'not loaded'}; runtime ${info.cuda.runtimeVersion || '-'}, driver ${info.cuda.driverVersion || '-'}`,
        ...info.cuda.devices.map((d) => `  GPU: ${d.name}, ${(d.memoryBytes / 2 ** 30).toFixed(1)} GiB, sm_${d.computeCapability.replace('.', '')}`),
        `cuBLAS: ${info.cuda.cublasLoaded ? `${info.cuda.cublasPath} (version ${info.cuda.cublasVersion})` : info.cuda.cublasError || 'not probed'}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      if (err instanceof CommanderError) {
        if (err.exitCode === 0) return; // --help, --version
        process.stderr.write(`cfkit: [E_INPUT] ${err.message.replace(/^error: /, '')} (see cfkit --help)\n`);
        process.exitCode = 2;
        return;
      }
      const e = err as Error & { code?: string };
      process.stderr.write(`cfkit: ${e.code ? `[${e.code}] ` : ''}${e.message}\n`);
      process.exitCode = 1;
    });
}
