import { Device, unvalidatedGpuDevice } from '../backend';
import { InputError } from '../errors';
import { IdMap } from '../data/idmap';
import { Interactions } from '../data/interactions';
import type { EvalSet } from '../data/split';
import { runNative, RunOptions } from '../job';
import { native } from '../native';
import { checkTrainingData } from './recommender';

/** The λ grid DISTILL-CF re-selects from at every evaluation. */
export const DISTILL_LAMBDAS = [1e-5, 1e-3, 0.1, 1, 5, 50] as const;

export interface DistillOptions extends RunOptions {
  /** Synthetic users. Default 500. */
  budget?: number;
  /** Gumbel-softmax samples summed per synthetic user. Default 200. */
  gumbelSamples?: number;
  /** Gumbel-softmax temperature. Default 10. */
  tau?: number;
  /** Adam steps. Default 500. */
  steps?: number;
  /** Adam learning rate. Default 0.04. */
  lr?: number;
  /** Weight of the cardinality (data size) penalty. Default 1e-3. */
  cardinalityReg?: number;
  seed?: number;
  /** Steps between evaluations (one draw scored by ∞-AE, λ re-chosen). Default 25. */
  evalEvery?: number;
  lambdaGrid?: readonly number[];
  /** Rows scored at each evaluation (∞-AE protocol: inputs = the training rows). Without it the step with the lowest loss wins. */
  validation?: EvalSet;
  /**
   * 'auto' (default) | 'cpu' | 'cuda'. 'cuda' computes each step's loss and gradient on the GPU in
   * float64 (the real users dense on the device, products by cuBLAS, the same Gumbel noise as the
   * CPU); the evaluations' ∞-AE fits stay on the CPU. 'auto' stays on the CPU until the GPU path has
   * been checked against it on real hardware; `deviceReason` says so.
   */
  device?: Device;
}

export interface DistillResult {
  /** `budget` synthetic users over the training items, values in (0, 1]. */
  data: Interactions;
  /** λ chosen for ∞-AE at the best evaluation. */
  lambda: number;
  /** Validation HR@100 at the best evaluation (−loss without validation). */
  score: number;
  bestStep: number;
  /** Training loss per step. */
  loss: number[];
  device: 'cpu' | 'cuda';
  /** Why the GPU was not used, when device is 'cpu' under 'auto'. */
  deviceReason?: string;
}

function positive(v: unknown, name: string, fallback: number, integer = false): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v)))
    throw new InputError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${String(v)}`);
  return v;
}

/**
 * DISTILL-CF: learns a small synthetic data set (logits, through a Gumbel-softmax) whose ∞-AE fit
 * predicts the real users well; the gradient flows analytically through the Gumbel-softmax, the
 * NTK and the kernel solve.
 */
export async function distill(train: Interactions, opts: DistillOptions = {}): Promise<DistillResult> {
  checkTrainingData(train, 'DISTILL-CF');
  const budget = positive(opts.budget, 'budget', 500, true);
  if (budget < 2 || budget > train.numUsers) throw new InputError(`budget must be in [2, ${train.numUsers}]`);
  const { device, reason: deviceReason } = unvalidatedGpuDevice(opts.device, 'DISTILL-CF');
  const o = {
    cuda: device === 'cuda',
    budget,
    gumbelSamples: positive(opts.gumbelSamples, 'gumbelSamples', 200, true),
    tau: positive(opts.tau, 'tau', 10),
    steps: positive(opts.steps, 'steps', 500, true),
    lr: positive(opts.lr, 'lr', 0.04),
    cardinalityReg: opts.cardinalityReg === undefined ? 1e-3 : positive(opts.cardinalityReg, 'cardinalityReg', 1e-3),
    seed: opts.seed ?? 42,
    evalEvery: positive(opts.evalEvery, 'evalEvery', 25, true),
    lambdas: Float64Array.from(opts.lambdaGrid ?? DISTILL_LAMBDAS),
  };
  let validation = null;
  if (opts.validation) {
    const { inputs, targets } = opts.validation;
    validation = {
      inputs: (inputs.itemIds === train.itemIds ? inputs : inputs.alignItems(train.itemIds).data).csr(),
      targets: (targets.itemIds === train.itemIds ? targets : targets.alignItems(train.itemIds).data).csr(),
    };
  }
  const res = await runNative(opts, (job) => native().distill(train.csr(), o, validation, job));
  const data = Interactions.fromCsr({
    indptr: res.synthetic.indptr,
    indices: res.synthetic.indices,
    values: res.synthetic.values,
    userIds: IdMap.from(Array.from({ length: budget }, (_, v) => `synthetic-${v}`)),
    itemIds: train.itemIds,
  });
  return { data, lambda: res.lambda, score: res.hr100, bestStep: res.bestStep, loss: Array.from(res.loss), device, deviceReason };
}
