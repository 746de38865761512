import { InputError } from '../errors';
import { IdMap } from '../data/idmap';
import { Interactions } from '../data/interactions';
import { runNative, RunOptions } from '../job';
import { native, NativeIalsEpoch, NativeModelHandle } from '../native';
import { ModelFile, section, SectionData } from '../io/container';
import { checkTrainingData, commonSections, factorModelSections, itemCounts, NativeRecommender } from './recommender';
import { buildFromFile } from './model-file';
import { Factors, numberOption } from './options';

export interface ImplicitALSOptions extends RunOptions {
  /** Latent factors k. Default 64. */
  factors?: number;
  /** λ, scaled per row by (its observations + α₀·the other side's size)^ν. Default 1e-3. */
  l2?: number;
  /** α₀: the weight of every user-item pair as an observation of 0. Default 0.1. */
  unobservedWeight?: number;
  /** ν: 0 is a plain ridge, 1 (default) scales λ with each row's total weight (Rendle et al. 2021). */
  regularizationExponent?: number;
  /** Sweeps over users then items. Default 16. */
  epochs?: number;
  /** Conjugate-gradient steps per row and sweep, warm-started from the row's factors; 0 solves each row exactly. Default 3. */
  cgSteps?: number;
  /** Factors start N(0, (initStd/√k)²). Default 0.1. */
  initStd?: number;
  seed?: number;
  keepHistory?: boolean;
}

export interface ImplicitALSInfo {
  epochs: NativeIalsEpoch[];
  options: Record<string, number>;
}

/**
 * Implicit-feedback matrix factorization by alternating least squares (Hu, Koren & Volinsky 2008),
 * in Rendle et al.'s (2021) formulation with frequency-scaled regularisation, each row solved by
 * warm-started conjugate gradient (Takács, Pilászy & Tikk 2011). Every stored interaction is an
 * observation (values are ignored). Its factors are embeddings for an ANN index.
 */
export class ImplicitALS extends NativeRecommender {
  readonly type = 'ials';
  readonly userIds: IdMap;
  readonly factors: number;
  readonly options: Record<string, number>;
  readonly info?: ImplicitALSInfo;

  private constructor(handle: NativeModelHandle, userIds: IdMap, itemIds: IdMap, history: Interactions | undefined, factors: number, options: Record<string, number>, info?: ImplicitALSInfo) {
    super(handle, itemIds, history);
    this.userIds = userIds;
    this.factors = factors;
    this.options = options;
    this.info = info;
  }

  static async fit(train: Interactions, opts: ImplicitALSOptions = {}): Promise<ImplicitALS> {
    checkTrainingData(train, 'iALS');
    const nonneg = (x: number) => x >= 0;
    const o: Record<string, number> = {
      factors: numberOption(opts.factors, 'factors', 64, (x) => Number.isInteger(x) && x >= 1 && x <= 4096, 'an integer in [1, 4096]'),
      l2: numberOption(opts.l2, 'l2', 1e-3, nonneg, '>= 0'),
      unobservedWeight: numberOption(opts.unobservedWeight, 'unobservedWeight', 0.1, nonneg, '>= 0'),
      regularizationExponent: numberOption(opts.regularizationExponent, 'regularizationExponent', 1, (x) => x >= 0 && x <= 4, 'in [0, 4]'),
      epochs: numberOption(opts.epochs, 'epochs', 16, (x) => Number.isInteger(x) && x >= 1 && x <= 100000, 'a positive integer'),
      cgSteps: numberOption(opts.cgSteps, 'cgSteps', 3, (x) => Number.isInteger(x) && x >= 0 && x <= 4096, 'an integer in [0, 4096]'),
      initStd: numberOption(opts.initStd, 'initStd', 0.1, (x) => x > 0, 'positive'),
      seed: numberOption(opts.seed, 'seed', 42, (x) => Number.isInteger(x) && x >= 0 && x <= Number.MAX_SAFE_INTEGER, 'a non-negative integer'),
    };
    if (o.l2 === 0 && o.unobservedWeight === 0) throw new InputError('l2 and unobservedWeight cannot both be 0: rows with few observations would have no unique solution');
    const res = await runNative(opts, (job) => native().ialsFit(train.csr(), o, job));
    return new ImplicitALS(res.model, train.userIds, train.itemIds, opts.keepHistory === false ? undefined : train, o.factors, o, { epochs: res.epochs, options: o }).withPopularity(itemCounts(train));
  }

  /** The user factors W (users x factors, row-major, in `ids` order): query vectors for an inner-product ANN index of itemFactors(). */
  userFactors(): Factors {
    return { ids: this.userIds.toArray(), factors: this.nativeHandle().exportArray('w') as Float32Array, dimensions: this.factors };
  }

  /** The item factors H (items x factors, row-major, in `ids` order): the vectors to index. */
  itemFactors(): Factors {
    return { ids: this.itemIds.toArray(), factors: this.nativeHandle().exportArray('h') as Float32Array, dimensions: this.factors };
  }

  protected params(): Record<string, unknown> {
    return { ...this.options, info: this.info };
  }

  protected modelSections(): [string, SectionData][] {
    const h = this.nativeHandle();
    return [
      ['w', h.exportArray('w')],
      ['h', h.exportArray('h')],
      ['userIds', this.userIds.toArray() as unknown as SectionData],
    ];
  }

  /** Loads an ImplicitALS model saved by `save()`; a file holding another type of model is E_FORMAT naming it. */
  static load(path: string): Promise<ImplicitALS> {
    return buildFromFile(path, (file, p) => ImplicitALS.fromModelFile(file, p), { type: 'ials', name: 'ImplicitALS' });
  }

  /** @internal Rebuilds a model read by load(). */
  static fromModelFile(file: ModelFile, path: string): ImplicitALS {
    const { itemIds, history, popularity } = commonSections(file, path);
    const { userIds, factors: k } = factorModelSections(file, path);
    const p = file.params;
    const options = { factors: k, l2: Number(p.l2), unobservedWeight: Number(p.unobservedWeight), regularizationExponent: Number(p.regularizationExponent) };
    const handle = native().ialsFromFactors(userIds.size, itemIds.size, k, section(file, 'w', Float32Array, path), section(file, 'h', Float32Array, path), options.l2, options.unobservedWeight, options.regularizationExponent);
    return new ImplicitALS(handle, userIds, itemIds, history, k, options, p.info as ImplicitALSInfo | undefined).withPopularity(popularity);
  }
}
