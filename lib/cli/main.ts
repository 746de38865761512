#!/usr/bin/env node
/** The cfkit command line: demo, train, evaluate, recommend, doctor. */
import { Command, CommanderError } from 'commander';
import { backendInfo } from '../backend';
import { holdoutUsers, EvalSet } from '../data/split';
import { makeSplit } from '../bench/data';
import type { Interactions } from '../data/interactions';
import { syntheticInteractions } from '../data/synthetic';
import { evaluate, evaluateScores, parseMetric } from '../eval/metrics';
import { version } from '../version';
import { DataFlags, dataOptions, fileOptions, fileProvenance, fitModel, int, loadData, ModelFlags, modelOptions, modelParams, num } from './options';
import { batchCommand } from './batch';
import { doctor } from './doctor';
import { benchCommands } from './bench';
import { recommendCommand } from './recommend';
import { table } from './table';

async function demo(opts: { users: number; items: number; seed: number; l2: number; threads?: number; json?: boolean }): Promise<void> {
  const t0 = performance.now();
  const data = syntheticInteractions({ users: opts.users, items: opts.items, seed: opts.seed });
  const testUsers = Math.max(1, Math.floor(opts.users / 10));
  const { train, test } = holdoutUsers(data, { testUsers, seed: opts.seed });
  if (!opts.json) {
    process.stdout.write(`cfkit ${version} demo: synthetic data with planted clusters and power-law popularity\n`);
    process.stdout.write(`  ${data.toString()}; training on ${train.numUsers} users, testing on ${test.inputs.numUsers} held-out users\n\n`);
  }
  const { model, seconds } = await fitModel(train, { model: 'ease', l2: opts.l2, threads: opts.threads, progress: opts.json ? 'none' : undefined });
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

function shape(data: Interactions): { users: number; items: number; interactions: number } {
  return { users: data.numUsers, items: data.numItems, interactions: data.nnz };
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
    .option('--json', 'print a JSON record: data file and sha256, model, parameters, cfkit version, fit time')
    .action(async (file: string, o: DataFlags & ModelFlags & { out: string; json?: boolean }) => {
      const data = await loadData(file, o);
      const { model, seconds } = await fitModel(data, o);
      try {
        await model.save(o.out);
      } finally {
        model.dispose();
      }
      if (o.json) {
        const record = { cfkit: version, command: 'train', dataset: await fileProvenance(file), data: shape(data), model: o.model, params: modelParams(o), out: o.out, fitSeconds: seconds };
        process.stdout.write(JSON.stringify(record, null, 2) + '\n');
      } else process.stdout.write(`trained ${model.type} in ${seconds.toFixed(2)} s; saved to ${o.out}\n`);
    });

  modelOptions(dataOptions(program.command('evaluate <data>')))
    .description('train and report metrics: on a fixed test file (--test), or on held-out users (strong generalization)')
    .option('--test <file>', "held-out interactions of the data's users (e.g. LightGCN's test.txt), read with the same options")
    .option('--test-users <n>', 'held-out test users when there is no --test', int, 600)
    .option('--min-interactions <n>', 'with held-out users: drop users with fewer interactions first', int, 5)
    .option('--metrics <list>', 'comma-separated metrics', 'recall@20,recall@50,ndcg@100')
    .option('--json', 'machine-readable output, with the data files and their sha256, the split, the parameters and the cfkit version')
    .action(async (file: string, o: DataFlags & ModelFlags & { test?: string; testUsers: number; minInteractions: number; metrics: string; json?: boolean }) => {
      const metrics = o.metrics.split(',').map((s) => s.trim()).filter(Boolean);
      metrics.forEach(parseMetric);  // a bad name fails before the data is read
      const data = await loadData(file, o);
      let train: Interactions;
      let test: EvalSet;
      let split: Record<string, unknown>;
      if (o.test) {
        ({ train, test } = await makeSplit(data, { kind: 'fixed', test: o.test, options: fileOptions(o) as Record<string, unknown> }));
        split = { kind: 'fixed', test: await fileProvenance(o.test), testUsers: test.inputs.numUsers };
      } else {
        const kept = data.dropUsersBelow(o.minInteractions);
        if (o.testUsers > kept.numUsers / 4)
          process.stderr.write(`cfkit: warning: holding out ${o.testUsers} of ${kept.numUsers} users leaves ${kept.numUsers - o.testUsers} to train on; lower --test-users or give --test\n`);
        ({ train, test } = holdoutUsers(kept, { testUsers: o.testUsers, seed: o.seed ?? 42 }));
        split = { kind: 'holdout-users', testUsers: o.testUsers, minInteractions: o.minInteractions, seed: o.seed ?? 42 };
      }
      const { model, seconds } = await fitModel(train, o);
      let report;
      try {
        report = await evaluate(model, test, metrics, { threads: o.threads, train });
      } finally {
        model.dispose();
      }
      if (o.json) {
        const record = { cfkit: version, command: 'evaluate', dataset: await fileProvenance(file), data: shape(data), split, model: model.type, params: modelParams(o), ...report, fitSeconds: seconds };
        process.stdout.write(JSON.stringify(record, null, 2) + '\n');
        return;
      }
      process.stdout.write(table(['metric', 'mean', 'stderr'], metrics.map((m) => [m, report.metrics[m.toLowerCase()], report.stderr[m.toLowerCase()]])) + '\n');
      process.stdout.write(`\n${model.type}: ${report.users} test users; fit ${seconds.toFixed(2)} s, evaluation ${report.seconds.toFixed(2)} s\n`);
    });

  recommendCommand(program);
  batchCommand(program);
  benchCommands(program);

  program
    .command('doctor')
    .description('show what cfkit found (BLAS, SuiteSparse, threads, CUDA) and how to fix what is missing')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => doctor(o));
  return program;
}

// A closed pipe (`cfkit recommend --all | head`) ends the command quietly: the reader has what it wanted.
function exitOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

if (require.main === module) {
  exitOnClosedPipe(process.stdout);
  exitOnClosedPipe(process.stderr);
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
      if (e.code === 'EPIPE') return;
      process.stderr.write(`cfkit: ${e.code ? `[${e.code}] ` : ''}${e.message}\n`);
      process.exitCode = 1;
    });
}
