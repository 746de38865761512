import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from './native';

function packageVersion(): string {
  try {
    return String(JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')).version);
  } catch {
    return '0.0.0';
  }
}

/** The installed cfkit version, from package.json (e.g. '0.1.0'). */
export const version: string = packageVersion();
