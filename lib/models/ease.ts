import { InputError } from '../errors';
import { IdMap } from '../data/idmap';
import { Interactions } from '../data/interactions';
import { runNative, RunOptions } from '../job';
import { native, NativeModelHandle } from '../native';
import { ModelFile, section, SectionData } from '../io/container';
import { checkTrainingData, commonSections, itemCounts, NativeRecommender } from './recommender';
import { buildFromFile } from './model-file';

export interface EASEOptions extends RunOptions {
  /** Ridge strength λ added to diag(XᵀX). Default 500 (a good start for MovieLens-sized data; tune it). */
  l2?: number;
  /**
   * Precision of the Cholesky factorization and inverse. The Gram matrix is always accumulated in
   * double. 'float32' (default) is about twice as fast; 'float64' for ill-conditioned data.
   */
  dtype?: 'float32' | 'float64';
  /** Keep the training rows so known users can be served by id (and saved with the model). Default true. */
  keepHistory?: boolean;
}

/**
 * EASE^R (Steck, WWW'19): B = −P·diag(1/diag P) with P = (XᵀX + λI)⁻¹ and diag(B) = 0; scores = X·B.
 * Dense in the number of items (n² float32 weights): use SANSA for large catalogues.
 */
export class EASE extends NativeRecommender {
  readonly type = 'ease';
  readonly l2: number;
  readonly dtype: 'float32' | 'float64';

  private constructor(handle: NativeModelHandle, itemIds: IdMap, history: Interactions | undefined, l2: number, dtype: 'float32' | 'float64') {
    super(handle, itemIds, history);
    this.l2 = l2;
    this.dtype = dtype;
  }

  static async fit(train: Interactions, opts: EASEOptions = {}): Promise<EASE> {
    checkTrainingData(train, 'EASE');
    const l2 = opts.l2 ?? 500;
    if (typeof l2 !== 'number' || !Number.isFinite(l2) || l2 < 0) throw new InputError(`l2 must be a finite number >= 0, got ${String(l2)}`);
    const dtype = opts.dtype ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'float64') throw new InputError(`dtype must be 'float32' or 'float64'`);
    if (train.numItems > 46340) throw new InputError(`EASE is dense: ${train.numItems} items need ${((train.numItems ** 2 * 4) / 2 ** 30).toFixed(1)} GiB; use SANSA`);
    const handle = await runNative(opts, (job) => native().easeFit(train.csr(), { l2, float64: dtype === 'float64' }, job));
    return new EASE(handle, train.itemIds, opts.keepHistory === false ? undefined : train, l2, dtype).withPopularity(itemCounts(train));
  }

  /** A copy of B, row-major items x items: row i holds the weights from input item i. */
  weights(): Float32Array {
    return this.nativeHandle().exportArray('weights') as Float32Array;
  }

  protected params(): Record<string, unknown> {
    return { l2: this.l2, dtype: this.dtype };
  }

  protected modelSections(): [string, SectionData][] {
    return [['weights', this.weights()]];
  }

  /** Loads a EASE model saved by `save()`; a file holding another type of model is E_FORMAT naming it. */
  static load(path: string): Promise<EASE> {
    return buildFromFile(path, (file, p) => EASE.fromModelFile(file, p), { type: 'ease', name: 'EASE' });
  }

  /** @internal Rebuilds a model read by load(). */
  static fromModelFile(file: ModelFile, path: string): EASE {
    const { itemIds, history, popularity } = commonSections(file, path);
    const w = section(file, 'weights', Float32Array, path);
    const handle = native().easeFromWeights(itemIds.size, w);
    const l2 = Number(file.params.l2);
    const dtype = file.params.dtype === 'float64' ? 'float64' : 'float32';
    return new EASE(handle, itemIds, history, l2, dtype).withPopularity(popularity);
  }
}
