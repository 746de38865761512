import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from './native';

let cached: string | undefined;

/** The installed cfkit version, from package.json. */
export function version(): string {
  if (cached === undefined) {
    try {
      cached = String(JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')).version);
    } catch {
      cached = '0.0.0';
    }
  }
  return cached;
}
