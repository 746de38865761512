import { FormatError } from '../errors';
import type { ModelFile } from '../io/container';
import type { Interactions } from '../data/interactions';
import { EASE } from './ease';
import { SANSA } from './sansa';
import { InfiniteAE } from './infae';
import { MatrixFactorization } from './mf';
import { ImplicitALS } from './ials';
import { buildFromFile } from './model-file';

/** Every model class; `load()` returns one, narrowed by its `type` ('ease', 'sansa', 'infae', 'mf', 'ials'). */
export type Model = EASE | SANSA | InfiniteAE | MatrixFactorization | ImplicitALS;

/**
 * Every trainable model type and its fit, by the name the CLI and `cfkit bench` configs use. The
 * options are the class's own (EASEOptions, SANSAOptions, ...), each checked by its fit.
 */
export const MODEL_FITS = {
  ease: (train: Interactions, opts: Record<string, unknown>): Promise<Model> => EASE.fit(train, opts),
  sansa: (train: Interactions, opts: Record<string, unknown>): Promise<Model> => SANSA.fit(train, opts),
  mf: (train: Interactions, opts: Record<string, unknown>): Promise<Model> => MatrixFactorization.fit(train, opts),
  ials: (train: Interactions, opts: Record<string, unknown>): Promise<Model> => ImplicitALS.fit(train, opts),
  infae: (train: Interactions, opts: Record<string, unknown>): Promise<Model> => InfiniteAE.fit(train, opts),
} as const;
export type ModelType = keyof typeof MODEL_FITS;
export const MODEL_TYPES = Object.keys(MODEL_FITS) as ModelType[];

const loaders: Record<string, (file: ModelFile, path: string) => Model> = {
  ease: (f, p) => EASE.fromModelFile(f, p),
  sansa: (f, p) => SANSA.fromModelFile(f, p),
  infae: (f, p) => InfiniteAE.fromModelFile(f, p),
  mf: (f, p) => MatrixFactorization.fromModelFile(f, p),
  ials: (f, p) => ImplicitALS.fromModelFile(f, p),
};

/**
 * Loads any model saved by cfkit; the file's type decides the class, and `model.type` narrows it.
 * Corrupt files give E_FORMAT. `EASE.load(path)` and the like accept one type only.
 */
export async function load(path: string): Promise<Model> {
  return buildFromFile(path, (file, p) => {
    // Own properties only: a type of 'constructor' or 'toString' must not reach Object.prototype.
    const make = Object.hasOwn(loaders, file.type) ? loaders[file.type] : undefined;
    if (!make) throw new FormatError(`${p}: unknown model type '${file.type}'`, { path: p });
    return make(file, p);
  });
}
