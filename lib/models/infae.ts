import * as os from 'node:os';
import { Device, unvalidatedGpuDevice } from '../backend';
import { FormatError, fromNative, InputError } from '../errors';
import { IdMap } from '../data/idmap';
import { Interactions } from '../data/interactions';
import { checkSeed, Rng } from '../data/rng';
import type { EvalSet } from '../data/split';
import { runNative, RunOptions } from '../job';
import { native, NativeModelHandle } from '../native';
import { ModelFile, section, SectionData } from '../io/container';
import { checkTrainingData, commonSections, itemCounts, NativeRecommender } from './recommender';
import { buildFromFile } from './model-file';

/** The λ grid of the ∞-AE paper (selected by validation HR@100). */
export const INFINITE_AE_LAMBDAS = [0, 1, 5, 20, 50, 100] as const;

export interface InfiniteAEOptions extends RunOptions {
  /** Ridge strength, scaled by the kernel's mean diagonal: K + λ·tr(K)/n·I. Default 5 without a grid. */
  lambda?: number;
  /** Candidate λ values; the best validation HR@100 (Liang recall@100) wins. Needs `validation`. */
  lambdaGrid?: readonly number[];
  /** Rows to score for λ selection: inputs are the context (∞-AE: the training rows), targets held out. */
  validation?: EvalSet;
  /** Support users: 'all' (default, users with at least one interaction), a random count, or a sampler. */
  supportUsers?: 'all' | number | ((train: Interactions) => ArrayLike<number>);
  /** Seed for a random support sample. */
  seed?: number;
  /** Precision of the Cholesky solve. Default 'float32'. */
  dtype?: 'float32' | 'float64';
  /**
   * 'auto' (default) | 'cpu' | 'cuda'. 'cuda' computes the kernel and solve on the GPU (float32, cuBLAS
   * loaded at run time) and keeps the support rows and α there, so scoring and recommending run on the
   * GPU too (batches of up to 1,024 rows: two GEMMs and our NTK kernel); `dispose()` frees the device
   * memory. A saved model loads for CPU scoring. 'auto' stays on the CPU until the GPU path has been
   * checked against it on real hardware; `info.deviceReason` says so.
   */
  device?: Device;
  /** Refuse (E_INPUT) when the solve would need more bytes than this. Default 80 % of RAM. */
  memoryLimit?: number;
  keepHistory?: boolean;
}

export interface InfiniteAEFitInfo {
  lambda: number;
  grid: { lambda: number; hr100: number }[];
  seconds: { gram: number; kernel: number; solve: number; total: number };
  supportUsers: number;
  device: 'cpu' | 'cuda';
  /** Why the GPU was not used, when device is 'cpu' under 'auto'. */
  deviceReason?: string;
  bytesNeeded: number;
}

/** Bytes the closed-form fit needs: K (float32) and its factor, plus αᵀ twice while it is built. */
export function infiniteAEBytes(supportUsers: number, items: number, dtype: 'float32' | 'float64', lambdas = 1): number {
  const n = supportUsers;
  // The float32 kernel, plus a factor copy unless one float32 λ is factored in place; αᵀ and X_sᵀ.
  const factorCopy = dtype === 'float64' ? 8 : lambdas > 1 ? 4 : 0;
  return n * n * (4 + factorCopy) + 2 * items * n * 4;
}

/**
 * ∞-AE (Sachdeva et al., NeurIPS'22): kernel ridge regression with the neural tangent kernel of an
 * infinitely wide one-hidden-layer autoencoder, solved in closed form.
 */
export class InfiniteAE extends NativeRecommender {
  readonly type = 'infae';
  readonly lambda: number;
  readonly info?: InfiniteAEFitInfo;

  private constructor(handle: NativeModelHandle, itemIds: IdMap, history: Interactions | undefined, lambda: number, info?: InfiniteAEFitInfo) {
    super(handle, itemIds, history);
    this.lambda = lambda;
    this.info = info;
  }

  static async fit(train: Interactions, opts: InfiniteAEOptions = {}): Promise<InfiniteAE> {
    checkTrainingData(train, '∞-AE');
    const grid = opts.lambdaGrid ? [...opts.lambdaGrid] : [opts.lambda ?? 5];
    if (opts.lambdaGrid && opts.lambda !== undefined) throw new InputError('give lambda or lambdaGrid, not both');
    if (grid.length === 0 || grid.some((l) => typeof l !== 'number' || !Number.isFinite(l)))
      throw new InputError('λ values must be finite numbers');
    if (grid.length > 1 && !opts.validation) throw new InputError('lambdaGrid needs a validation EvalSet');
    const dtype = opts.dtype ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'float64') throw new InputError("dtype must be 'float32' or 'float64'");
    const { device, reason: deviceReason } = unvalidatedGpuDevice(opts.device, '∞-AE');
    if (device === 'cuda' && dtype !== 'float32') throw new InputError("∞-AE on CUDA runs in float32; use dtype: 'float32' or device: 'cpu'");

    // Support rows: users with interactions, optionally a sample.
    const active: number[] = [];
    for (let u = 0; u < train.numUsers; u++) if (train.indptr[u + 1] > train.indptr[u]) active.push(u);
    let rows: ArrayLike<number> = active;
    const su = opts.supportUsers ?? 'all';
    if (typeof su === 'number') {
      if (!Number.isInteger(su) || su < 1) throw new InputError('supportUsers must be a positive integer');
      const rng = new Rng(checkSeed(opts.seed));
      rows = rng.shuffle(Int32Array.from(active)).slice(0, Math.min(su, active.length)).sort();
    } else if (typeof su === 'function') {
      rows = su(train);
    } else if (su !== 'all') throw new InputError("supportUsers must be 'all', a count or a function");
    const support = train.selectUsers(rows);
    const bytesNeeded = infiniteAEBytes(support.numUsers, train.numItems, dtype, grid.length);
    const limit = opts.memoryLimit ?? 0.8 * os.totalmem();
    if (bytesNeeded > limit)
      throw new InputError(
        `∞-AE needs about ${(bytesNeeded / 2 ** 30).toFixed(2)} GiB (${bytesNeeded} bytes) for ${support.numUsers} support users ` +
          `but the limit is ${(limit / 2 ** 30).toFixed(2)} GiB; sample fewer supportUsers or raise memoryLimit`,
      );
    let validation: { inputs: ReturnType<Interactions['csr']>; targets: ReturnType<Interactions['csr']> } | undefined;
    if (opts.validation) {
      const { inputs, targets } = opts.validation;
      const vi = inputs.itemIds === train.itemIds ? inputs : inputs.alignItems(train.itemIds).data;
      const vt = targets.itemIds === train.itemIds ? targets : targets.alignItems(train.itemIds).data;
      validation = { inputs: vi.csr(), targets: vt.csr() };
    }
    const t0 = performance.now();
    const res = await runNative(opts, (job) =>
      native().infaeFit(support.csr(), { lambdas: Float64Array.from(grid), float64: dtype === 'float64', cuda: device === 'cuda', validation }, job),
    );
    const info: InfiniteAEFitInfo = {
      lambda: res.lambda,
      grid: res.grid,
      seconds: { ...res.seconds, total: (performance.now() - t0) / 1000 },
      supportUsers: support.numUsers,
      device,
      deviceReason,
      bytesNeeded,
    };
    return new InfiniteAE(res.model, train.itemIds, opts.keepHistory === false ? undefined : train, res.lambda, info).withPopularity(itemCounts(train));
  }

  /**
   * The ∞-AE kernel K(a, b) (rows of `a` x rows of `b`, row-major float32), from the closed form of
   * the NTK; `b` defaults to `a`. Both must share the item space.
   */
  static kernel(a: Interactions, b: Interactions = a): Float32Array {
    if (a.numItems !== b.numItems) throw new InputError('kernel rows must share the item space');
    try {
      return native().infaeKernel(a.csr(), b.csr());
    } catch (err) {
      throw fromNative(err);
    }
  }

  protected params(): Record<string, unknown> {
    return { lambda: this.lambda, info: this.info };
  }

  protected modelSections(): [string, SectionData][] {
    const h = this.nativeHandle();
    return [
      ['support.indptr', h.exportArray('support.indptr')],
      ['support.indices', h.exportArray('support.indices')],
      ['support.values', h.exportArray('support.values')],
      ['alphaT', h.exportArray('alphaT')],
    ];
  }

  /** Loads a InfiniteAE model saved by `save()`; a file holding another type of model is E_FORMAT naming it. */
  static load(path: string): Promise<InfiniteAE> {
    return buildFromFile(path, (file, p) => InfiniteAE.fromModelFile(file, p), { type: 'infae', name: 'InfiniteAE' });
  }

  /** @internal Rebuilds a model read by load(). */
  static fromModelFile(file: ModelFile, path: string): InfiniteAE {
    const { itemIds, history, popularity } = commonSections(file, path);
    const indptr = section(file, 'support.indptr', Int32Array, path);
    const support = { rows: indptr.length - 1, cols: itemIds.size, indptr, indices: section(file, 'support.indices', Int32Array, path), values: section(file, 'support.values', Float32Array, path) };
    const lambda = Number(file.params.lambda);
    if (!Number.isFinite(lambda)) throw new FormatError(`${path}: invalid λ`, { path });
    const handle = native().infaeFromWeights(support, section(file, 'alphaT', Float32Array, path));
    return new InfiniteAE(handle, itemIds, history, lambda, file.params.info as InfiniteAEFitInfo | undefined).withPopularity(popularity);
  }
}
