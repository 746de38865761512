import { FormatError, fromNative } from '../errors';
import { readModelFile } from '../io/container';
import { EASE } from './ease';
import { SANSA } from './sansa';
import { InfiniteAE } from './infae';
import { MatrixFactorization } from './mf';
import type { Recommender } from './recommender';

const loaders: Record<string, (file: Awaited<ReturnType<typeof readModelFile>>, path: string) => Recommender> = {
  ease: (f, p) => EASE.fromModelFile(f, p),
  sansa: (f, p) => SANSA.fromModelFile(f, p),
  infae: (f, p) => InfiniteAE.fromModelFile(f, p),
  mf: (f, p) => MatrixFactorization.fromModelFile(f, p),
};

/** Loads any model saved by cfkit; the file's type decides the class. Corrupt files give E_FORMAT. */
export async function load(path: string): Promise<Recommender> {
  const file = await readModelFile(path);
  // Own properties only: a type of 'constructor' or 'toString' must not reach Object.prototype.
  const make = Object.hasOwn(loaders, file.type) ? loaders[file.type] : undefined;
  if (!make) throw new FormatError(`${path}: unknown model type '${file.type}'`, { path });
  try {
    return make(file, path);
  } catch (err) {
    const e = fromNative(err);
    if (e instanceof FormatError) throw e;
    throw new FormatError(`${path}: ${e.message}`, { path, cause: e });
  }
}
