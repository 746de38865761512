import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

/** A file's sha256, streamed (for provenance records and model checksums). */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
