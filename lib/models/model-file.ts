import { FormatError, fromNative } from '../errors';
import { ModelFile, readModelFile } from '../io/container';
import { native } from '../native';

/** Sections a model keeps in JS after loading: the training history and the item counts. */
const KEPT = (name: string) => name.startsWith('history.') || name === 'popularity';

/**
 * Frees the sections whose values the addon copied into the model (weights, factors, kernels) now,
 * rather than at the next garbage collection, so that a loaded model's arrays are held once.
 */
export function releaseCopiedSections(file: ModelFile): void {
  const views: ArrayBufferView[] = [];
  for (const [name, v] of file.sections) if (!KEPT(name) && ArrayBuffer.isView(v)) views.push(v);
  native().detachBuffers(views);
}

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
    const model = make(file, path);
    releaseCopiedSections(file);
    return model;
  } catch (err) {
    const e = fromNative(err);
    if (e instanceof FormatError) throw e;
    throw new FormatError(`${path}: ${e.message}`, { path, cause: e });
  }
}
