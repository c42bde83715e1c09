import { GiB, MiB } from './sizes.js';

/** S3's rules for multipart uploads, which every store follows so clients need one code path. */
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * GiB;
export const MAX_PARTS = 10_000;
/** The largest object one PUT can carry on S3. */
export const MAX_SINGLE_PUT = 5 * GiB;
/** Part size the plan starts from; grows only when a file would need more than MAX_PARTS parts. */
export const DEFAULT_PART_SIZE = 16 * MiB;

export interface PartPlan {
  partSize: number;
  partCount: number;
}

/**
 * The part plan for an object of `size` bytes: every part `partSize` bytes but the last.
 * @example partSizeFor(100 * MiB) // { partSize: 16 MiB, partCount: 7 }
 */
export function partSizeFor(size: number): PartPlan {
  let partSize = DEFAULT_PART_SIZE;
  if (Math.ceil(size / partSize) > MAX_PARTS) {
    partSize = Math.ceil(size / MAX_PARTS / MiB) * MiB;
  }
  return { partSize, partCount: Math.max(1, Math.ceil(size / partSize)) };
}

/** Exact byte length of part `partNumber` (1-based) under a plan. */
export function partLength(size: number, plan: PartPlan, partNumber: number): number {
  if (partNumber < plan.partCount) return plan.partSize;
  return size - plan.partSize * (plan.partCount - 1);
}
