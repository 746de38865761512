import * as fs from 'node:fs';
import * as readline from 'node:readline';
import type { ExternalId, IdMap } from '../data/idmap';

/**
 * An id written as text, as the map holds it: a number when the text is an integer the map knows as
 * a number (index ids, numeric files), else the text.
 */
export function idFromText(text: string, ids: IdMap | undefined): ExternalId {
  if (!/^-?\d+$/.test(text)) return text;
  const n = Number(text);
  if (!ids || ids.index(n) !== undefined || ids.index(text) === undefined) return n;
  return text;
}

/** The ids in a file, one per line (blank lines and surrounding spaces ignored), read as they are needed. */
export async function* idsFromFile(file: string, ids: IdMap | undefined): AsyncGenerator<ExternalId> {
  const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    const text = line.trim();
    if (text) yield idFromText(text, ids);
  }
}
