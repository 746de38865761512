import { InputError } from '../errors';
import type { ExternalId } from '../data/idmap';

/** A numeric fit option: `fallback` when absent, else a finite number passing `ok`, or E_INPUT saying `what` it must be. */
export function numberOption(v: unknown, name: string, fallback: number, ok: (x: number) => boolean, what: string): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new InputError(`${name} must be ${what}, got ${String(v)}`);
  return v;
}

/** Embeddings with their external ids, row-major `ids.length` x `dimensions`: what ANN indexes take. */
export interface Factors {
  ids: ExternalId[];
  factors: Float32Array;
  dimensions: number;
}
