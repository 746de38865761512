import { FormatError, InputError } from '../errors';
import { IdMap } from '../data/idmap';
import { Interactions } from '../data/interactions';
import { runNative, RunOptions } from '../job';
import { CsrArrays, native, NativeModelHandle, NativeSansaOptions, NativeSansaStats } from '../native';
import { ModelFile, section, SectionData } from '../io/container';
import { checkTrainingData, commonSections, itemCounts, NativeRecommender } from './recommender';
import { buildFromFile } from './model-file';

/** The largest float32: SANSA factors in float32, so a larger l2 overflows. */
const FLOAT32_MAX = 3.4028234663852886e38;

export interface UMROptions {
  /** Residual scans (reference default 1; the paper used 3–5). */
  scans?: number;
  /** Finetune steps on the worst columns (reference default 10). */
  finetune?: number;
  /** Floor of the per-scan residual threshold, as log10 (default −7, about float32 precision). */
  logNormThreshold?: number;
  /** Stop once ‖I − LM‖²_F / n is below this (default 0: never stop early, as the reference). */
  lossThreshold?: number;
}

export interface ICFOptions {
  /** Diagonal shift added after the first breakdown (default 1e-3) … */
  shiftStep?: number;
  /** … multiplied by this after each further breakdown (default 2). */
  shiftMultiplier?: number;
  /** Breakdowns tolerated before giving up with E_NUMERIC (default 30). */
  maxRestarts?: number;
}

export interface SANSAOptions extends RunOptions {
  /**
   * Ridge strength λ. With `factorizer: 'cholmod'` it is EASE's λ (e.g. 500 on ML-1M). With 'icf'
   * it acts in a scaled space — each item's column of X is divided by √‖(XᵀX)_{:,j}‖₂ before
   * factorizing, as in the reference — so a much smaller λ fits (the paper: 2.5–20). Default 20.
   */
  l2?: number;
  /**
   * Target density of the factor L, floored at 2/n. Default 1e-3. The UMR inverse takes L's actual
   * density, as the reference does: ICF may leave part of its budget unused.
   */
  density?: number;
  /**
   * 'cholmod': exact supernodal LDLᵀ, then sparsified (memory of the full factor). When
   * sparsification keeps at most half of the factor and λ keeps XᵀX + λI well conditioned, the
   * numeric step runs in float32 on CHOLMOD's analysis (`stats.float32Factor`): about half the
   * time and memory of CHOLMOD's double step, with the same kept pattern up to rounding.
   * 'icf': incomplete Cholesky within the density budget (memory proportional to it). Default 'icf'.
   */
  factorizer?: 'cholmod' | 'icf';
  /** Fill-reducing ordering. Default 'colamd' (from the symbolic analysis of Xᵀ). */
  ordering?: 'colamd' | 'amd' | 'natural';
  /** 'umr' (default) or 'exact' (forward substitution; for small catalogues and checks). */
  inverse?: 'umr' | 'exact';
  umr?: UMROptions;
  icf?: ICFOptions;
  /** Keep the training rows so known users can be served by id. Default true. */
  keepHistory?: boolean;
}

/** The addon's statistics, with the total wall time and the UMR losses as a plain array. */
export interface SANSAStats extends Omit<NativeSansaStats, 'seconds' | 'umrLoss'> {
  seconds: NativeSansaStats['seconds'] & { total: number };
  /** ‖I − LM‖²_F / n after the initial guess, each scan and each finetune step. */
  umrLoss: number[];
}

export interface SANSAWeights {
  /** items x n, CSR: W₁ = Wᵀ. */
  encoder: CsrArrays & { values: Float32Array };
  /** n x items, CSR: W₂ = D⁻¹W·diag(−1/diag(WᵀD⁻¹W)). */
  decoder: CsrArrays & { values: Float32Array };
}

function positiveInt(v: unknown, name: string, fallback: number, min = 0): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new InputError(`${name} must be an integer >= ${min}`);
  return v;
}

function finite(v: unknown, name: string, fallback: number, check: (x: number) => boolean, what: string): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) throw new InputError(`${name} must be ${what}, got ${String(v)}`);
  return v;
}

function oneOf<T extends string>(v: unknown, name: string, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!allowed.includes(v as T)) throw new InputError(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  return v as T;
}

export function sansaNativeOptions(o: SANSAOptions): NativeSansaOptions {
  return {
    l2: finite(o.l2, 'l2', 20, (x) => x >= 0 && x <= FLOAT32_MAX, 'a number in [0, 3.4e38] (float32\'s range)'),
    density: finite(o.density, 'density', 1e-3, (x) => x > 0 && x <= 1, 'in (0, 1]'),
    factorizer: oneOf(o.factorizer, 'factorizer', ['cholmod', 'icf'] as const, 'icf'),
    ordering: oneOf(o.ordering, 'ordering', ['colamd', 'amd', 'natural'] as const, 'colamd'),
    inverse: oneOf(o.inverse, 'inverse', ['umr', 'exact'] as const, 'umr'),
    scans: positiveInt(o.umr?.scans, 'umr.scans', 1),
    finetune: positiveInt(o.umr?.finetune, 'umr.finetune', 10),
    logNormThreshold: finite(o.umr?.logNormThreshold, 'umr.logNormThreshold', -7, (x) => x <= 0, 'a number <= 0'),
    lossThreshold: finite(o.umr?.lossThreshold, 'umr.lossThreshold', 0, (x) => x >= 0, 'a number >= 0'),
    shiftStep: finite(o.icf?.shiftStep, 'icf.shiftStep', 1e-3, (x) => x > 0, 'a positive number'),
    shiftMultiplier: finite(o.icf?.shiftMultiplier, 'icf.shiftMultiplier', 2, (x) => x >= 1, 'a number >= 1'),
    maxRestarts: positiveInt(o.icf?.maxRestarts, 'icf.maxRestarts', 30),
  };
}

/**
 * SANSA (Spišák, Bartyzal, Šimánek, RecSys'23): EASE approximated by a sparse LDLᵀ factorization of
 * XᵀX + λI and a sparse approximate inverse of L, giving a two-layer sparse model with a memory
 * budget set by `density`.
 */
export class SANSA extends NativeRecommender {
  readonly type = 'sansa';
  readonly options: NativeSansaOptions;
  /** Training statistics (absent for a model loaded from a file saved without them). */
  readonly stats?: SANSAStats;

  private constructor(handle: NativeModelHandle, itemIds: IdMap, history: Interactions | undefined, options: NativeSansaOptions, stats?: SANSAStats) {
    super(handle, itemIds, history);
    this.options = options;
    this.stats = stats;
  }

  static async fit(train: Interactions, opts: SANSAOptions = {}): Promise<SANSA> {
    checkTrainingData(train, 'SANSA');
    const options = sansaNativeOptions(opts);
    const t0 = performance.now();
    const { model, stats } = await runNative(opts, (job) => native().sansaFit(train.csr(), options, job));
    const total = (performance.now() - t0) / 1000;
    return new SANSA(model, train.itemIds, opts.keepHistory === false ? undefined : train, options, {
      ...stats,
      seconds: { ...stats.seconds, total },
      umrLoss: Array.from(stats.umrLoss),
    }).withPopularity(itemCounts(train));
  }

  /** Copies of the encoder and decoder CSR arrays. */
  weights(): SANSAWeights {
    const h = this.nativeHandle();
    const part = (name: 'encoder' | 'decoder', rows: number, cols: number) => ({
      rows,
      cols,
      indptr: h.exportArray(`${name}.indptr`) as Int32Array,
      indices: h.exportArray(`${name}.indices`) as Int32Array,
      values: h.exportArray(`${name}.values`) as Float32Array,
    });
    return { encoder: part('encoder', this.numItems, this.numItems), decoder: part('decoder', this.numItems, this.numItems) };
  }

  protected params(): Record<string, unknown> {
    return { ...this.options, stats: this.stats };
  }

  protected modelSections(): [string, SectionData][] {
    const w = this.weights();
    return [
      ['encoder.indptr', w.encoder.indptr],
      ['encoder.indices', w.encoder.indices],
      ['encoder.values', w.encoder.values],
      ['decoder.indptr', w.decoder.indptr],
      ['decoder.indices', w.decoder.indices],
      ['decoder.values', w.decoder.values],
    ];
  }

  /** Loads a SANSA model saved by `save()`; a file holding another type of model is E_FORMAT naming it. */
  static load(path: string): Promise<SANSA> {
    return buildFromFile(path, (file, p) => SANSA.fromModelFile(file, p), { type: 'sansa', name: 'SANSA' });
  }

  /** @internal Rebuilds a model read by load(). */
  static fromModelFile(file: ModelFile, path: string): SANSA {
    const { itemIds, history, popularity } = commonSections(file, path);
    const n = itemIds.size;
    const csr = (name: string): CsrArrays => ({
      rows: n,
      cols: n,
      indptr: section(file, `${name}.indptr`, Int32Array, path),
      indices: section(file, `${name}.indices`, Int32Array, path),
      values: section(file, `${name}.values`, Float32Array, path),
    });
    let options: NativeSansaOptions;
    try {
      const { stats: _stats, ...rest } = file.params as Record<string, unknown>;
      options = sansaNativeOptions({ ...(rest as SANSAOptions), umr: rest as UMROptions, icf: rest as ICFOptions });
    } catch (err) {
      throw new FormatError(`${path}: invalid SANSA parameters: ${(err as Error).message}`, { path });
    }
    const handle = native().sansaFromWeights(csr('encoder'), csr('decoder'));
    const stats = file.params.stats as SANSAStats | undefined;
    return new SANSA(handle, itemIds, history, options, stats).withPopularity(popularity);
  }
}
