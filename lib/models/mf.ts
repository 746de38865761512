import { Device, unvalidatedGpuDevice } from '../backend';
import { fromNative, InputError } from '../errors';
import { ExternalId, IdMap } from '../data/idmap';
import { Interactions } from '../data/interactions';
import { ratingErrors } from '../eval/metrics';
import { runNative, RunOptions } from '../job';
import { native, NativeMfEpoch, NativeModelHandle } from '../native';
import { ModelFile, section, SectionData } from '../io/container';
import { checkTrainingData, commonSections, factorModelSections, itemCounts, NativeRecommender } from './recommender';
import { buildFromFile } from './model-file';
import { Factors, numberOption } from './options';

export interface MatrixFactorizationOptions extends RunOptions {
  /** Latent factors k (any k; multiples of 16 use full SIMD registers). Default 128. */
  factors?: number;
  /** Default 20. */
  epochs?: number;
  /** Learning rate schedule η_t = alpha / (1 + beta·t^1.5), t = epoch (cuMF_SGD / MASCOT). Default {0.02, 0.05} (chosen on ML-1M validation data). */
  lr?: { alpha?: number; beta?: number };
  /** L2 strength per update, one value or per side. Default 0.045 (chosen on ML-1M validation data). */
  l2?: number | { user?: number; item?: number };
  /** Initial factors: N(0, std²) (default, std 0.02: small starts generalise better) or U(0, scale·√(1/k)) as cuMF_SGD. */
  init?: { distribution?: 'normal' | 'uniform'; std?: number; scale?: number };
  seed?: number;
  /**
   * 'auto' (default) | 'cpu' | 'cuda'. 'cuda' trains by batch-Hogwild SGD on the GPU (one warp per
   * update; fp32, fp16 or MASCOT; factors a multiple of 32 up to 256; pruning with fp16, its dot
   * products on tensor cores, 16 updates at a time). 'auto' stays on the
   * CPU until the GPU trainer has been checked against it on real hardware; `info.deviceReason` says so.
   */
  device?: Device;
  /** 'fp32' (default), 'fp16' (half-precision storage, fp32 arithmetic) or 'mascot' (per-group switching). */
  precision?: 'fp32' | 'fp16' | 'mascot';
  mascot?: {
    /** Groups by rating count, per side. Default 100 (the MASCOT README's experiments). */
    groups?: number | { user?: number; item?: number };
    /** Epochs between q-error estimates, from epoch 5. Default 2. */
    interval?: number;
    /** Share of each block's updates sampled for the estimate. Default 0.05. */
    sampleRatio?: number;
    /** Normalised q-error above which a group switches to fp32 for good. Default 20. */
    threshold?: number;
  };
  /**
   * Dynamic latent pruning: every `rearrangeEvery` epochs (default 5), latent dimensions are
   * reordered by joint sparsity and about `rate` of all stored factors (the lowest-energy row tails)
   * are cut, so updates skip them. rate 0 = off (bit-identical to no pruning).
   */
  pruning?: { rate?: number; rearrangeEvery?: number };
  /**
   * Side B of the B×B grid of user and item blocks the CPU trainer walks (it changes the update
   * order, so results too). Default: large enough that a block's factor rows fit in L2 (up to 64)
   * and that blocks hold about 150 ratings (up to 128), at least 2 per thread.
   */
  blocks?: number;
  /** Learn r − μ (μ = the mean training rating) and predict μ + p·q. Default false, as cuMF_SGD, LIBMF and MASCOT. */
  center?: boolean;
  /** Held-out ratings (same user and item ids) for a validation RMSE each epoch. */
  validation?: Interactions;
  keepHistory?: boolean;
}

export interface MatrixFactorizationInfo {
  epochs: NativeMfEpoch[];
  groupsTotal: number;
  device: 'cpu' | 'cuda';
  deviceReason?: string;
  options: Record<string, number | string | boolean>;
  /** μ added to every prediction (0 without centring). */
  mean: number;
}

/**
 * Matrix factorization r̂_ui = p_u·q_i trained by parallel SGD (a block scheduler whose concurrent
 * blocks share no user or item), with fp16 storage, MASCOT precision switching and dynamic pruning.
 */
export class MatrixFactorization extends NativeRecommender {
  readonly type = 'mf';
  readonly userIds: IdMap;
  readonly factors: number;
  readonly info?: MatrixFactorizationInfo;

  private constructor(handle: NativeModelHandle, userIds: IdMap, itemIds: IdMap, history: Interactions | undefined, factors: number, info?: MatrixFactorizationInfo) {
    super(handle, itemIds, history);
    this.userIds = userIds;
    this.factors = factors;
    this.info = info;
  }

  static async fit(ratings: Interactions, opts: MatrixFactorizationOptions = {}): Promise<MatrixFactorization> {
    checkTrainingData(ratings, 'MF', 'ratings');
    // SGD on equal values learns a constant (an audit measured implicit ML-1M: recall@20 0.0025 against EASE's 0.331).
    const v = ratings.values;
    if (v.every((x) => x === v[0]))
      throw new InputError(
        `every rating is ${v[0]}: the data looks implicit (interactions, not ratings), which MatrixFactorization cannot learn from; use EASE or SANSA, or give it explicit ratings`,
      );
    const factors = numberOption(opts.factors, 'factors', 128, (x) => Number.isInteger(x) && x >= 1 && x <= 4096, 'an integer in [1, 4096]');
    const epochs = numberOption(opts.epochs, 'epochs', 20, (x) => Number.isInteger(x) && x >= 1, 'a positive integer');
    const l2 = typeof opts.l2 === 'object' ? opts.l2 : { user: opts.l2, item: opts.l2 };
    const groups = typeof opts.mascot?.groups === 'object' ? opts.mascot.groups : { user: opts.mascot?.groups, item: opts.mascot?.groups };
    const precision = opts.precision ?? 'fp32';
    if (!['fp32', 'fp16', 'mascot'].includes(precision)) throw new InputError("precision must be 'fp32', 'fp16' or 'mascot'");
    const dist = opts.init?.distribution ?? 'normal';
    if (dist !== 'normal' && dist !== 'uniform') throw new InputError("init.distribution must be 'normal' or 'uniform'");
    const nonneg = (x: number) => x >= 0;
    const o: Record<string, number | string | boolean> = {
      factors,
      epochs,
      lrAlpha: numberOption(opts.lr?.alpha, 'lr.alpha', 0.02, (x) => x > 0, 'positive'),
      lrBeta: numberOption(opts.lr?.beta, 'lr.beta', 0.05, nonneg, '>= 0'),
      l2User: numberOption(l2.user, 'l2.user', 0.045, nonneg, '>= 0'),
      l2Item: numberOption(l2.item, 'l2.item', 0.045, nonneg, '>= 0'),
      initUniform: dist === 'uniform',
      initStd: numberOption(opts.init?.std, 'init.std', 0.02, (x) => x > 0, 'positive'),
      initScale: numberOption(opts.init?.scale, 'init.scale', 1, (x) => x > 0, 'positive'),
      seed: numberOption(opts.seed, 'seed', 42, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer'),
      precision,
      userGroups: numberOption(groups.user, 'mascot.groups', 100, (x) => Number.isInteger(x) && x >= 1, 'a positive integer'),
      itemGroups: numberOption(groups.item, 'mascot.groups', 100, (x) => Number.isInteger(x) && x >= 1, 'a positive integer'),
      interval: numberOption(opts.mascot?.interval, 'mascot.interval', 2, (x) => Number.isInteger(x) && x >= 1, 'a positive integer'),
      sampleRatio: numberOption(opts.mascot?.sampleRatio, 'mascot.sampleRatio', 0.05, (x) => x > 0 && x <= 1, 'in (0, 1]'),
      threshold: numberOption(opts.mascot?.threshold, 'mascot.threshold', 20, (x) => x > 0, 'positive'),
      center: opts.center ?? false,
      pruneRate: numberOption(opts.pruning?.rate, 'pruning.rate', 0, (x) => x >= 0 && x < 1, 'in [0, 1)'),
      rearrangeEvery: numberOption(opts.pruning?.rearrangeEvery, 'pruning.rearrangeEvery', 5, (x) => Number.isInteger(x) && x >= 1, 'a positive integer'),
      blocks: numberOption(opts.blocks, 'blocks', 0, (x) => Number.isInteger(x) && x >= 1 && x <= 1024, 'an integer in [1, 1024]'),
    };
    const { device, reason: deviceReason } = unvalidatedGpuDevice(opts.device, 'matrix factorization');
    if (device === 'cuda') {
      if (factors % 32 !== 0 || factors > 256) throw new InputError('MF on CUDA needs factors a multiple of 32 up to 256');
      if (o.pruneRate !== 0 && o.precision !== 'fp16')
        throw new InputError("MF on CUDA: pruning keeps factors in fp16 for the tensor cores; pass precision: 'fp16'");
      o.cuda = true;
    }
    let valid = null;
    if (opts.validation) {
      const v = opts.validation;
      if (v.numUsers !== ratings.numUsers || v.itemIds !== ratings.itemIds && v.numItems !== ratings.numItems)
        throw new InputError('validation ratings must use the training user and item spaces (e.g. from ratingSplit)');
      valid = v.csr();
    }
    const res = await runNative(opts, (job) => native().mfFit(ratings.csr(), o, valid, job));
    const info: MatrixFactorizationInfo = { epochs: res.epochs, groupsTotal: res.groupsTotal, device, deviceReason, options: o, mean: res.mean };
    return new MatrixFactorization(res.model, ratings.userIds, ratings.itemIds, opts.keepHistory === false ? undefined : ratings, factors, info).withPopularity(itemCounts(ratings));
  }

  /** Predicted ratings for (user, item) pairs given by external id. */
  predict(users: readonly ExternalId[], items: readonly ExternalId[]): Float32Array {
    if (users.length !== items.length) throw new InputError('users and items must have the same length');
    const u = Int32Array.from(users, (id) => this.userIds.require(id, 'user'));
    const i = Int32Array.from(items, (id) => this.itemIds.require(id, 'item'));
    return this.predictIndices(u, i);
  }

  private predictIndices(u: Int32Array, i: Int32Array): Float32Array {
    try {
      return native().mfPredict(this.nativeHandle(), u, i);
    } catch (err) {
      throw fromNative(err);
    }
  }

  /**
   * The user factors P (users x factors, row-major, in `ids` order) with their external ids: the
   * query vectors for an approximate-nearest-neighbour index of `itemFactors()` under the inner
   * product. A model trained with `center: true` adds its mean to every score, which does not
   * change any user's ranking.
   */
  userFactors(): Factors {
    return { ids: this.userIds.toArray(), factors: this.nativeHandle().exportArray('p') as Float32Array, dimensions: this.factors };
  }

  /** The item factors Q (items x factors, row-major, in `ids` order) with their external ids: the vectors to index. */
  itemFactors(): Factors {
    return { ids: this.itemIds.toArray(), factors: this.nativeHandle().exportArray('q') as Float32Array, dimensions: this.factors };
  }

  /** RMSE (and MAE) on held-out ratings, matched to the model by external user and item ids. */
  rmse(test: Interactions): { rmse: number; mae: number; n: number } {
    const users = new Int32Array(test.nnz);
    const items = new Int32Array(test.nnz);
    const same = test.userIds === this.userIds && test.itemIds === this.itemIds;
    for (let r = 0; r < test.numUsers; r++) {
      const u = same ? r : this.userIds.require(test.userIds.id(r), 'user');
      for (let p = test.indptr[r]; p < test.indptr[r + 1]; p++) {
        users[p] = u;
        items[p] = same ? test.indices[p] : this.itemIds.require(test.itemIds.id(test.indices[p]), 'item');
      }
    }
    return ratingErrors(this.predictIndices(users, items), test.values);
  }

  protected params(): Record<string, unknown> {
    return { factors: this.factors, foldInL2: this.info?.options.l2User ?? 0.05, info: this.info };
  }

  protected modelSections(): [string, SectionData][] {
    const h = this.nativeHandle();
    return [
      ['p', h.exportArray('p')],
      ['q', h.exportArray('q')],
      ['userIds', this.userIds.toArray() as unknown as SectionData],
    ];
  }

  /** Loads a MatrixFactorization model saved by `save()`; a file holding another type of model is E_FORMAT naming it. */
  static load(path: string): Promise<MatrixFactorization> {
    return buildFromFile(path, (file, p) => MatrixFactorization.fromModelFile(file, p), { type: 'mf', name: 'MatrixFactorization' });
  }

  /** @internal Rebuilds a model read by load(). */
  static fromModelFile(file: ModelFile, path: string): MatrixFactorization {
    const { itemIds, history, popularity } = commonSections(file, path);
    const { userIds, factors: k } = factorModelSections(file, path);
    const handle = native().mfFromWeights(userIds.size, itemIds.size, k, section(file, 'p', Float32Array, path), section(file, 'q', Float32Array, path), Number(file.params.foldInL2 ?? 0.05), Number((file.params.info as MatrixFactorizationInfo | undefined)?.mean ?? 0));
    return new MatrixFactorization(handle, userIds, itemIds, history, k, file.params.info as MatrixFactorizationInfo | undefined).withPopularity(popularity);
  }
}
