/** Options the CLI's commands share: data files, models and their parameters, progress, ids. */
import * as fs from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { InputError } from '../errors';
import { sha256File } from '../io/hash';
import { Interactions } from '../data/interactions';
import { FileOptions } from '../data/readers';
import type { Recommender } from '../models/recommender';
import { MODEL_FITS, MODEL_TYPES, ModelType } from '../models/load';
import { PROGRESS_FORMATS, progressPrinter, ProgressFormat } from '../progress';

export const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected an integer');
  return n;
};
export const num = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
};

export interface DataFlags {
  format?: FileOptions['format'];
  implicit?: string | boolean;
  duplicates?: FileOptions['duplicates'];
  user?: string;
  item?: string;
  rating?: string;
  header?: boolean;
}

export function fileOptions(f: DataFlags): FileOptions {
  const col = (c?: string) => (c === undefined ? undefined : /^\d+$/.test(c) ? Number(c) : c);
  const implicit = f.implicit === undefined ? undefined : f.implicit === true ? true : { threshold: num(String(f.implicit)) };
  return { format: f.format, implicit, duplicates: f.duplicates, user: col(f.user), item: col(f.item), rating: col(f.rating), header: f.header };
}

export function dataOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--format <format>', 'data file format').choices(['auto', 'csv', 'tsv', 'movielens', 'lightgcn']).default('auto'))
    .option('--implicit [threshold]', 'treat interactions as implicit; with a threshold keep rating >= threshold')
    .addOption(new Option('--duplicates <policy>', 'repeated user-item pairs').choices(['error', 'sum', 'max', 'first', 'last']).default('error'))
    .option('--user <column>', 'user column (name or 0-based index)')
    .option('--item <column>', 'item column (name or 0-based index)')
    .option('--rating <column>', 'rating column (name or 0-based index)')
    .option('--header', 'the first line is a header');
}

export async function loadData(file: string, flags: DataFlags, extra: FileOptions = {}): Promise<Interactions> {
  const t0 = performance.now();
  const data = await Interactions.fromFile(file, { ...fileOptions(flags), ...extra });
  process.stderr.write(`loaded ${file}: ${data.toString()} in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
  return data;
}

/** The file's path, size and sha256, for provenance records. */
export async function fileProvenance(file: string): Promise<{ path: string; bytes: number; sha256: string }> {
  return { path: file, bytes: (await fs.promises.stat(file)).size, sha256: await sha256File(file) };
}

export const MODELS = MODEL_TYPES;
export type ModelName = ModelType;

export interface ModelFlags {
  model: ModelName;
  l2?: number;
  density?: number;
  factorizer?: 'cholmod' | 'icf';
  scans?: number;
  finetune?: number;
  factors?: number;
  epochs?: number;
  lr?: number;
  precision?: 'fp32' | 'fp16' | 'mascot';
  pruneRate?: number;
  unobservedWeight?: number;
  cgSteps?: number;
  seed?: number;
  threads?: number;
  progress?: ProgressFormat;
}

export function progressOption(cmd: Command): Command {
  return cmd.addOption(new Option('--progress <format>', "progress on stderr (default 'auto': bars on a terminal, else plain lines)").choices(PROGRESS_FORMATS as string[]));
}

export function modelOptions(cmd: Command): Command {
  return progressOption(
    cmd
      .addOption(new Option('--model <type>', 'model').choices(MODELS as unknown as string[]).default('ease'))
      .option('--l2 <x>', 'ridge strength: EASE/SANSA l2 (default 500 / per factorizer), ∞-AE λ (default: chosen by validation), MF l2 (0.045), iALS λ (1e-3)', num)
      .option('--density <x>', 'SANSA weight density (default 5e-3)', num)
      .addOption(new Option('--factorizer <name>', 'SANSA factorizer').choices(['cholmod', 'icf']))
      .option('--scans <n>', 'SANSA UMR scans', int)
      .option('--finetune <n>', 'SANSA UMR finetune steps', int)
      .option('--factors <n>', 'MF / iALS latent factors (default 128 / 64)', int)
      .option('--epochs <n>', 'MF / iALS epochs (default 20 / 16)', int)
      .option('--lr <x>', 'MF learning rate alpha (default 0.02)', num)
      .addOption(new Option('--precision <p>', 'MF precision').choices(['fp32', 'fp16', 'mascot']))
      .option('--prune-rate <x>', 'MF dynamic pruning rate (0 = off)', num)
      .option('--unobserved-weight <x>', 'iALS α₀, the weight of every unobserved pair (default 0.1)', num)
      .option('--cg-steps <n>', 'iALS conjugate-gradient steps per row (0: exact; default 3)', int)
      .option('--seed <n>', 'random seed: MF initialisation, ∞-AE sampling, evaluate\'s held-out users (default 42)', int)
      .option('--threads <n>', 'worker threads', int),
  );
}

/** The parameters given for the chosen model, as the fit receives them (provenance records these). */
export function modelParams(f: ModelFlags): Record<string, unknown> {
  const drop = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  switch (f.model) {
    case 'ease':
      return { l2: f.l2 ?? 500 };
    case 'sansa':
      return drop({ l2: f.l2, density: f.density, factorizer: f.factorizer, umr: f.scans !== undefined || f.finetune !== undefined ? drop({ scans: f.scans, finetune: f.finetune }) : undefined });
    case 'mf':
      return drop({
        factors: f.factors,
        epochs: f.epochs,
        lr: f.lr === undefined ? undefined : { alpha: f.lr },
        l2: f.l2,
        precision: f.precision,
        pruning: f.pruneRate === undefined ? undefined : { rate: f.pruneRate },
        seed: f.seed,
      });
    case 'ials':
      return drop({ factors: f.factors, epochs: f.epochs, l2: f.l2, unobservedWeight: f.unobservedWeight, cgSteps: f.cgSteps, seed: f.seed });
    case 'infae':
      return drop({ lambda: f.l2, seed: f.seed });
  }
}

export async function fitModel(train: Interactions, f: ModelFlags): Promise<{ model: Recommender; seconds: number }> {
  const printer = progressPrinter(f.progress);
  const t0 = performance.now();
  const common = { threads: f.threads, onProgress: printer.onProgress };
  const params = modelParams(f);
  try {
    if (!Object.hasOwn(MODEL_FITS, f.model)) throw new InputError(`unknown model '${String(f.model)}' (available: ${MODELS.join(', ')})`);
    const model = await MODEL_FITS[f.model](train, { ...params, ...common });
    return { model, seconds: (performance.now() - t0) / 1000 };
  } finally {
    printer.stop();
  }
}

