/**
 * Streaming readers for interaction files: delimited text (CSV/TSV, with or without a header,
 * columns by name or index), MovieLens "::" files, and LightGCN adjacency lines ("user item item …").
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { FormatError, InputError, IOError } from '../errors';
import { checkIndexSpace, ExternalId, IdMap, IdMapBuilder } from './idmap';
import { BuildOptions, Interactions } from './interactions';

export type FileFormat = 'auto' | 'csv' | 'tsv' | 'movielens' | 'lightgcn';
export type Column = string | number;

export interface FileOptions extends BuildOptions {
  /** Default 'auto': sniffed from the first lines ('::' → movielens, tab → tsv, comma → csv, spaces → lightgcn). */
  format?: FileFormat;
  /** Field separator for delimited files; overrides the format's default. */
  delimiter?: string;
  /** Whether the first line names the columns. 'auto' (default) decides from the first line. */
  header?: boolean | 'auto';
  /** Columns by header name or 0-based index. Defaults: user 0, item 1, rating 2 and timestamp 3 when present. */
  user?: Column;
  item?: Column;
  /** null: the file has no rating column (every interaction is 1). */
  rating?: Column | null;
  timestamp?: Column | null;
  /**
   * How ids are read. 'auto' (default): integer-looking ids become numbers, others strings; both are
   * mapped to dense indices in first-seen order. 'string': always strings. 'index': ids are already
   * 0-based dense indices (LightGCN files); use numUsers/numItems to make several files agree.
   */
  ids?: 'auto' | 'string' | 'index';
  numUsers?: number;
  numItems?: number;
  /** Skip malformed rows (they are counted in stats) instead of failing with E_FORMAT. Default false. */
  skipInvalid?: boolean;
  encoding?: BufferEncoding;
  /**
   * The longest line accepted, in characters. Default 16 Mi (DEFAULT_MAX_LINE_LENGTH). A longer line
   * fails with E_FORMAT as soon as it is seen, so a file without line breaks (a stray binary,
   * /dev/zero) fails at once instead of being buffered whole.
   */
  maxLineLength?: number;
}

/** The default FileOptions.maxLineLength: 16 Mi characters (a LightGCN line of about 2M items). */
export const DEFAULT_MAX_LINE_LENGTH = 16 * 1024 * 1024;

export interface ReadStats {
  path: string;
  format: Exclude<FileFormat, 'auto'>;
  lines: number;
  interactions: number;
  skippedRows: number;
  /** Rows dropped by implicit.threshold. */
  belowThreshold: number;
}

const INT_RE = /^-?\d+$/;

function tooLong(file: string, no: number, max: number): FormatError {
  return new FormatError(`${path.basename(file)} line ${no}: longer than maxLineLength (${max} characters); raise maxLineLength if the file is right`, { line: no, path: file });
}

/** Opens a file for reading; a directory or an unreadable path is E_IO. */
async function openForReading(file: string): Promise<fs.promises.FileHandle> {
  let fd: fs.promises.FileHandle;
  try {
    fd = await fs.promises.open(file, 'r');
  } catch (err) {
    throw new IOError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const stat = await fd.stat().catch(async (err: Error) => {
    await fd.close();
    throw new IOError(`cannot read ${file}: ${err.message}`, { cause: err });
  });
  if (stat.isDirectory()) {
    await fd.close();
    throw new IOError(`cannot read ${file}: it is a directory`);
  }
  return fd;
}

/** Reads a file line by line without loading it whole; calls fn(line, 1-based line number). */
async function forEachLine(file: string, encoding: BufferEncoding, maxLine: number, fn: (line: string, no: number) => void): Promise<number> {
  const fd = await openForReading(file);
  const stream = fd.createReadStream({ highWaterMark: 1 << 20 });
  const decoder = new StringDecoder(encoding);
  let rest = '';
  let no = 0;
  const feed = (text: string) => {
    const parts = (rest + text).split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) {
      if (p.length > maxLine + 1) throw tooLong(file, no + 1, maxLine);
      fn(p.endsWith('\r') ? p.slice(0, -1) : p, ++no);
    }
    if (rest.length > maxLine + 1) throw tooLong(file, no + 1, maxLine);
  };
  // Only the stream's own failures are E_IO; whatever the line callback throws passes through as is.
  const chunks = stream[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (err) {
        throw new IOError(`error while reading ${file}: ${(err as Error).message}`, { cause: err });
      }
      if (next.done) break;
      feed(decoder.write(next.value));
    }
  } finally {
    stream.destroy();
    await fd.close().catch(() => undefined);
  }
  feed(decoder.end());
  if (rest.length > 0) fn(rest.endsWith('\r') ? rest.slice(0, -1) : rest, ++no);
  return no;
}

/**
 * The format from the first complete lines (up to 20, from the first 64 KiB, or further until the
 * first line ends): a partial line must not decide it, or a CSV whose first line is longer than the
 * window would pass for a LightGCN file.
 */
async function sniff(file: string, encoding: BufferEncoding, maxLine: number): Promise<{ format: Exclude<FileFormat, 'auto'>; first: string[] }> {
  const fd = await openForReading(file);
  try {
    const window = 64 * 1024;
    const chunks: Buffer[] = [];
    let total = 0;
    let ended = false;
    for (;;) {
      const buf = Buffer.alloc(window);
      const { bytesRead } = await fd.read(buf, 0, window, total).catch((err: Error) => {
        throw new IOError(`cannot read ${file}: ${err.message}`, { cause: err });
      });
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
      if (bytesRead === 0) {
        ended = true;
        break;
      }
      if (buf.subarray(0, bytesRead).includes(0x0a)) break;
      if (total > maxLine + 1) throw tooLong(file, 1, maxLine);
    }
    let text = Buffer.concat(chunks).toString(encoding);
    if (!ended && total >= window) text = text.slice(0, text.lastIndexOf('\n') + 1);
    const lines = text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '');
    const first = lines.slice(0, 20);
    if (first.some((l) => l.includes('::'))) return { format: 'movielens', first };
    if (first.some((l) => l.includes('\t'))) return { format: 'tsv', first };
    if (first.some((l) => l.includes(','))) return { format: 'csv', first };
    return { format: 'lightgcn', first };
  } finally {
    await fd.close();
  }
}

function isNumberField(f: string | undefined): boolean {
  return f !== undefined && f.trim() !== '' && Number.isFinite(Number(f));
}

/** A number, or a spelling of NaN or infinity: a data value, even if not a valid one, never a column name. */
function looksNumeric(f: string | undefined): boolean {
  return isNumberField(f) || /^[+-]?(nan|inf|infinity)$/i.test((f ?? '').trim());
}

/** Reads an interaction file into Interactions; see FileOptions. */
export async function readInteractions(file: string, opts: FileOptions = {}): Promise<{ data: Interactions; stats: ReadStats }> {
  const encoding = opts.encoding ?? 'utf8';
  const maxLine = opts.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  if (!Number.isSafeInteger(maxLine) || maxLine < 1) throw new InputError(`maxLineLength must be a positive integer, got ${String(opts.maxLineLength)}`);
  let format = opts.format ?? 'auto';
  const sniffed = await sniff(file, encoding, maxLine);
  if (format === 'auto') format = sniffed.format;
  if (!['csv', 'tsv', 'movielens', 'lightgcn'].includes(format)) throw new InputError(`unknown format '${String(format)}'`);
  const fmt = format as Exclude<FileFormat, 'auto'>;
  const idMode = opts.ids ?? (fmt === 'lightgcn' ? 'index' : 'auto');
  const skipInvalid = opts.skipInvalid ?? false;
  const stats: ReadStats = { path: file, format: fmt, lines: 0, interactions: 0, skippedRows: 0, belowThreshold: 0 };

  const users = new IdMapBuilder();
  const items = new IdMapBuilder();
  let uArr = new Int32Array(1 << 16);
  let iArr = new Int32Array(1 << 16);
  let vArr: Float32Array | undefined;
  let tArr: Float64Array | undefined;
  let lArr = new Int32Array(1 << 16);
  let n = 0;
  let maxUser = -1;
  let maxItem = -1;
  const grow = () => {
    const cap = uArr.length * 2;
    const g = <T extends Int32Array | Float32Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      b.set(a);
      return b;
    };
    uArr = g(uArr);
    iArr = g(iArr);
    lArr = g(lArr);
    if (vArr) vArr = g(vArr);
    if (tArr) tArr = g(tArr);
  };
  const bad = (no: number, why: string): void => {
    if (skipInvalid) {
      stats.skippedRows++;
      return;
    }
    throw new FormatError(`${path.basename(file)} line ${no}: ${why}`, { line: no, path: file });
  };
  const idOf = (field: string, builder: IdMapBuilder): number => {
    if (idMode === 'index') {
      if (!INT_RE.test(field)) return -1;
      const v = Number(field);
      if (v < 0 || v > 0x7ffffffe) return -1;
      return v;
    }
    if (field.length === 0) return -1;
    const id: ExternalId = idMode === 'auto' && INT_RE.test(field) && Number.isSafeInteger(Number(field)) ? Number(field) : field;
    return builder.indexOf(id);
  };
  const push = (u: number, i: number, v: number | undefined, t: number | undefined, no: number) => {
    if (n === uArr.length) grow();
    uArr[n] = u;
    iArr[n] = i;
    lArr[n] = no;
    if (v !== undefined) {
      if (!vArr) vArr = new Float32Array(uArr.length);
      vArr[n] = v;
    }
    if (t !== undefined) {
      if (!tArr) tArr = new Float64Array(uArr.length);
      tArr[n] = t;
    }
    if (u > maxUser) maxUser = u;
    if (i > maxItem) maxItem = i;
    n++;
  };

  if (fmt === 'lightgcn') {
    stats.lines = await forEachLine(file, encoding, maxLine, (line, no) => {
      const s = line.trim();
      if (s === '') return;
      const f = s.split(/\s+/);
      const u = idOf(f[0], users);
      if (u < 0) return bad(no, `invalid user id '${f[0]}'`);
      if (u > maxUser) maxUser = u;
      for (let k = 1; k < f.length; k++) {
        const i = idOf(f[k], items);
        if (i < 0) return bad(no, `invalid item id '${f[k]}'`);
        push(u, i, undefined, undefined, no);
      }
    });
  } else {
    const delim = opts.delimiter ?? (fmt === 'movielens' ? '::' : fmt === 'tsv' ? '\t' : ',');
    const firstFields = (sniffed.first[0] ?? '').split(delim);
    const secondFields = (sniffed.first[1] ?? '').split(delim);
    const named = [opts.user, opts.item, opts.rating, opts.timestamp].some((c) => typeof c === 'string');
    let header: boolean;
    if (opts.header === undefined || opts.header === 'auto') {
      const ratingCol = typeof opts.rating === 'number' ? opts.rating : opts.rating === null ? -1 : 2;
      header =
        named ||
        (ratingCol >= 0 && firstFields.length > ratingCol && !looksNumeric(firstFields[ratingCol]) && isNumberField(secondFields[ratingCol])) ||
        (!looksNumeric(firstFields[0]) && !looksNumeric(firstFields[1]) && isNumberField(secondFields[0]) && isNumberField(secondFields[1]));
    } else header = opts.header;
    if (named && !header) throw new InputError('columns given by name need a header line (header: true)');
    const names = header ? firstFields.map((s) => s.trim()) : [];
    // User and item columns are required; rating and timestamp default to theirs when the first line has them.
    const col = (c: Column | null | undefined, fallback: number | null, what: string, required = false): number => {
      if (c === null) {
        if (required) throw new InputError(`the ${what} column is required`);
        return -1;
      }
      if (c === undefined) return fallback !== null && (required || fallback < firstFields.length) ? fallback : -1;
      if (typeof c === 'number') {
        if (!Number.isInteger(c) || c < 0) throw new InputError(`${what} column index must be a non-negative integer`);
        return c;
      }
      const k = names.indexOf(c);
      if (k < 0) throw new InputError(`${what} column '${c}' is not in the header (${names.join(', ')})`);
      return k;
    };
    const cu = col(opts.user, 0, 'user', true);
    const ci = col(opts.item, 1, 'item', true);
    const cr = col(opts.rating, 2, 'rating');
    const ct = col(opts.timestamp, 3, 'timestamp');
    const need = Math.max(cu, ci, cr, ct) + 1;
    stats.lines = await forEachLine(file, encoding, maxLine, (line, no) => {
      if (no === 1 && header) return;
      if (line.trim() === '') return;
      const f = line.split(delim);
      if (f.length < need) return bad(no, `expected at least ${need} fields, found ${f.length}`);
      const u = idOf(f[cu].trim(), users);
      if (u < 0) return bad(no, `invalid user id '${f[cu]}'`);
      const i = idOf(f[ci].trim(), items);
      if (i < 0) return bad(no, `invalid item id '${f[ci]}'`);
      let v: number | undefined;
      if (cr >= 0) {
        if (!isNumberField(f[cr])) return bad(no, `rating '${f[cr]}' is not a finite number`);
        v = Number(f[cr]);
      }
      let t: number | undefined;
      if (ct >= 0) {
        if (!isNumberField(f[ct])) return bad(no, `timestamp '${f[ct]}' is not a finite number`);
        t = Number(f[ct]);
      }
      push(u, i, v, t, no);
    });
  }

  let userIds: IdMap;
  let itemIds: IdMap;
  if (idMode === 'index') {
    const nu = opts.numUsers ?? maxUser + 1;
    const ni = opts.numItems ?? maxItem + 1;
    if (nu < maxUser + 1) throw new FormatError(`${path.basename(file)}: user index ${maxUser} exceeds numUsers = ${nu}`, { path: file });
    if (ni < maxItem + 1) throw new FormatError(`${path.basename(file)}: item index ${maxItem} exceeds numItems = ${ni}`, { path: file });
    checkIndexSpace(nu, n, 'user', `${path.basename(file)}: `);
    checkIndexSpace(ni, n, 'item', `${path.basename(file)}: `);
    userIds = IdMap.identity(nu);
    itemIds = IdMap.identity(ni);
  } else {
    userIds = users.build();
    itemIds = items.build();
  }
  const implicit = opts.implicit;
  if (typeof implicit === 'object' && vArr)
    for (let k = 0; k < n; k++) if (vArr[k] < implicit.threshold) stats.belowThreshold++;
  const data = Interactions.fromCoo(
    { users: uArr.subarray(0, n), items: iArr.subarray(0, n), values: vArr?.subarray(0, n), timestamps: tArr?.subarray(0, n) },
    userIds,
    itemIds,
    opts,
    { lines: lArr.subarray(0, n), path: file },
  );
  stats.interactions = data.nnz;
  return { data, stats };
}
