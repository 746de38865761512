import { FormatError, fromNative } from '../errors';
import { ModelFile, readModelFile } from '../io/container';

/**
 * Reads a cfkit model file and builds its model with `make`. With `expected`, a file holding another
 * type of model is E_FORMAT naming the type found; any failure while building is E_FORMAT too.
 */
export async function buildFromFile<M>(
  path: string,
  make: (file: ModelFile, path: string) => M,
  expected?: { type: string; name: string },
): Promise<M> {
  const file = await readModelFile(path);
  if (expected && file.type !== expected.type)
    throw new FormatError(`${path} holds a '${file.type}' model, not ${expected.name} ('${expected.type}'); load() reads any type`, { path });
  try {
    return make(file, path);
  } catch (err) {
    const e = fromNative(err);
    if (e instanceof FormatError) throw e;
    throw new FormatError(`${path}: ${e.message}`, { path, cause: e });
  }
}
