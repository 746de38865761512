/** `cfkit recommend`: users from a list, a file or the whole history, streamed as text, JSON lines or CSV. */
import * as fs from 'node:fs';
import { Command, Option } from 'commander';
import { InputError } from '../errors';
import type { ExternalId } from '../data/idmap';
import { csvField, exportBatches, exportRecommendations, ExportFormat, formatScore, streamWriter } from '../batch/export';
import { idFromText, idsFromFile } from '../batch/ids';
import { load } from '../models/load';
import type { Recommendations } from '../models/recommender';
import { progressPrinter, ProgressFormat } from '../progress';
import { int, progressOption } from './options';

type OutputFormat = ExportFormat | 'text';

interface RecommendFlags {
  model: string;
  all?: boolean;
  usersFile?: string;
  user?: string[];
  items?: string;
  similar?: string;
  k: number;
  format?: OutputFormat;
  json?: boolean;
  out?: string;
  unknown: 'error' | 'ignore';
  batchSize?: number;
  threads?: number;
  progress?: ProgressFormat;
}

// One query row (a new user's items, or an item's neighbours) in the chosen format.
function formatQuery(label: string, query: ExternalId | ExternalId[], recs: Recommendations, format: OutputFormat): string {
  const items = recs.items(0);
  const scores = items.map((_, j) => formatScore(recs.scores[j]));
  if (format === 'jsonl') return `{"query":${JSON.stringify(query)},"items":${JSON.stringify(items)},"scores":[${scores.join(',')}]}\n`;
  if (format === 'csv') {
    const q = csvField(Array.isArray(query) ? query.join(' ') : query);
    return `query,rank,item,score\n${items.map((it, j) => `${q},${j + 1},${csvField(it)},${scores[j]}`).join('\n')}\n`;
  }
  return `${label}: ${items.join(', ')}\n`;
}

async function recommend(o: RecommendFlags): Promise<void> {
  const format: OutputFormat = o.json ? 'jsonl' : (o.format ?? 'text');
  const sources = [o.all, o.usersFile, o.user, o.items, o.similar].filter((x) => x !== undefined).length;
  if (sources !== 1) throw new InputError('give exactly one of --all, --users-file, --user, --items or --similar');
  if (o.out && format === 'text') throw new InputError("--out writes 'jsonl' or 'csv': give --format");
  const model = await load(o.model);
  try {
    const request = { k: o.k, unknown: o.unknown, threads: o.threads };
    if (o.items !== undefined || o.similar !== undefined) {
      let text: string;
      if (o.items !== undefined) {
        const query = o.items.split(',').map((s) => idFromText(s.trim(), model.itemIds));
        text = formatQuery('new user', query, await model.recommendItems([query], request), format);
      } else {
        const item = idFromText(o.similar!, model.itemIds);
        text = formatQuery(`similar to ${o.similar}`, item, await model.similarItems([item], request), format);
      }
      if (o.out) await fs.promises.writeFile(o.out, text);
      else await streamWriter(process.stdout)(text);
      return;
    }
    const users = o.all ? undefined : o.usersFile ? idsFromFile(o.usersFile, model.history?.userIds) : o.user!.map((u) => idFromText(u, model.history?.userIds));
    // A few users named on the command line need no progress unless it is asked for.
    const printer = progressPrinter(o.progress ?? (o.user ? 'none' : 'auto'));
    const opts = { ...request, users, batchSize: o.batchSize, onProgress: printer.onProgress };
    try {
      const summary = o.out
        ? await exportRecommendations(model, o.out, { ...opts, format: format as ExportFormat })
        : await exportBatches(model, opts, format, streamWriter(process.stdout));
      printer.stop();
      const extra = [summary.fallbackUsers ? `${summary.fallbackUsers} by popularity` : '', summary.unknownUsers ? `${summary.unknownUsers} unknown` : ''].filter(Boolean);
      if (o.out || o.all || o.usersFile)
        process.stderr.write(`recommended for ${summary.users} users${extra.length ? ` (${extra.join(', ')})` : ''} in ${summary.seconds.toFixed(2)} s${o.out ? `; wrote ${o.out}` : ''}\n`);
    } finally {
      printer.stop();
    }
  } finally {
    model.dispose();
  }
}

export function recommendCommand(program: Command): void {
  progressOption(
    program
      .command('recommend')
      .description('top-k items from a saved model: for users (a list, a file, or all of them), a new user, or an item')
      .requiredOption('-m, --model <file>', 'a model saved by cfkit')
      .option('--all', 'every user of the training history, streamed in batches')
      .option('--users-file <file>', 'user ids, one per line')
      .option('--user <id...>', 'user id(s)')
      .option('--items <ids>', 'comma-separated item ids of a new user')
      .option('--similar <id>', 'items similar to this item')
      .option('-k, --k <n>', 'items per row', int, 10)
      .addOption(new Option('--format <format>', "output: 'text' (default), 'jsonl' or 'csv' (user,rank,item,score)").choices(['text', 'jsonl', 'csv']))
      .option('--json', 'same as --format jsonl')
      .option('-o, --out <file>', 'write to this file atomically instead of stdout')
      .addOption(new Option('--unknown <policy>', "an unknown id: 'error', or 'ignore' (served by popularity)").choices(['error', 'ignore']).default('error'))
      .option('--batch-size <n>', 'users per batch', int)
      .option('--threads <n>', 'worker threads', int),
  ).action(recommend);
}
