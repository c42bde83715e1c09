/**
 * How an upload begins: picked up from the resume store when the server still holds it, otherwise
 * signed anew (multipart above the threshold, as the server plans it).
 */
import { DropgateError, isDropgateError } from '../shared/errors.js';
import { type PartPlan, partSizeFor } from '../shared/parts.js';
import type { FileRecord } from '../shared/protocol.js';
import { type ApiContext, releaseUpload, signRequest, signUpload, uploadStatus } from './api-calls.js';
import type { PartHasher } from './hash-part.js';
import { partBlob } from './multipart.js';
import { md5OfPart, type PresignedParts } from './multipart-signer.js';
import type { ResumeStore } from './resume.js';
import type { UploadOptions } from './types.js';
import { untilAborted } from './wait.js';

export type Session =
  /** Completed in an earlier run that ended before it could forget its state. */
  | { kind: 'completed'; file: FileRecord }
  | { kind: 'single'; uploadId: string; url: string; headers: Record<string, string> }
  | {
      kind: 'multipart';
      uploadId: string;
      plan: PartPlan;
      /** Parts the storage already holds (resume). */
      held: { partNumber: number; size: number; etag: string }[];
      /** Whether the resume store holds this upload (so a later run can pick it up). */
      saved: boolean;
      /** The first parts' URLs, when they came with the sign answer. */
      presigned?: PresignedParts;
    };

export interface SessionContext {
  api: ApiContext;
  file: Blob;
  options: UploadOptions;
  multipartThreshold: number;
  store: ResumeStore | undefined;
  fingerprint: string | undefined;
  /** The uploader's abort signal: an abort rejects at once, never waiting for the API. */
  signal: AbortSignal;
  /** How many parts' URLs a multipart sign asks for, and the hasher that binds their MD5s. */
  firstParts: { count: number; hasher: PartHasher | undefined };
}

/** Forgets a resume entry; a store that fails costs a later resume, never this upload. */
export async function forgetSaved(ctx: SessionContext): Promise<void> {
  if (!ctx.store || ctx.fingerprint === undefined) return;
  try {
    await ctx.store.delete(ctx.fingerprint);
  } catch {}
}

/**
 * The upload to send: resumed when the store and the server agree, otherwise newly signed.
 * @example const session = await openSession({ api, file, options, multipartThreshold, store, fingerprint, signal });
 */
export async function openSession(ctx: SessionContext): Promise<Session> {
  return (await resumeSaved(ctx)) ?? (await signNew(ctx));
}

async function resumeSaved(ctx: SessionContext): Promise<Session | undefined> {
  const { store, fingerprint, file, api } = ctx;
  if (!store || fingerprint === undefined) return undefined;
  const saved = await Promise.resolve(store.get(fingerprint)).catch(() => undefined);
  if (!saved || saved.size !== file.size) return undefined;
  let status: Awaited<ReturnType<typeof uploadStatus>>;
  try {
    status = await uploadStatus(api, saved.uploadId, ctx.signal);
  } catch (error) {
    // Another user's or a long-gone upload: start over. Anything else (network, auth) is the upload's error.
    if (!isDropgateError(error) || error.code !== 'NOT_FOUND') throw error;
    await forgetSaved(ctx);
    return undefined;
  }
  if (status.status === 'completed' && status.file) {
    await forgetSaved(ctx);
    return { kind: 'completed', file: status.file };
  }
  const plan = status.multipart;
  const usable =
    status.status === 'pending' &&
    plan !== undefined &&
    status.size === file.size &&
    plan.partSize === saved.partSize &&
    plan.partCount === saved.partCount &&
    Date.parse(status.expiresAt) > Date.now();
  if (!usable || !plan) {
    // Aborted, expired, failed or changed: start over, handing back what the old one still holds.
    if (status.status === 'pending') await releaseUpload(api, saved.uploadId);
    await forgetSaved(ctx);
    return undefined;
  }
  return { kind: 'multipart', uploadId: saved.uploadId, plan, held: status.parts ?? [], saved: true };
}

async function signNew(ctx: SessionContext): Promise<Session> {
  const { api, file, options, store, fingerprint } = ctx;
  const request = signRequest(file, options, file.size > ctx.multipartThreshold);
  // A multipart sign carries the first batch of parts, MD5s included, and its answer their URLs:
  // one API call fewer. Those MD5s were due before the first PUT anyway; the server plans the
  // parts with the same `partSizeFor`.
  const plan = request.multipart ? partSizeFor(file.size) : undefined;
  const first = plan ? await untilAborted(hashFirstParts(file, plan, ctx.firstParts, ctx.signal), ctx.signal, () => {}) : undefined;
  if (first) request.parts = first.wanted;
  // The sign call is not cancelled with the signal: the server may already have reserved the
  // allowance. An abort rejects at once, and the reservation is released when the answer comes.
  const signedAt = Date.now();
  const signing = signUpload(api, request);
  const sign = await untilAborted(signing, ctx.signal, () => {
    signing.then((late) => releaseUpload(api, late.uploadId)).catch(() => {});
  });
  if (sign.multipart) {
    let saved = false;
    const { partSize, partCount } = sign.multipart;
    if (store && fingerprint !== undefined) {
      const state = { uploadId: sign.uploadId, size: file.size, partSize, partCount, savedAt: new Date().toISOString() };
      saved = await Promise.resolve(store.set(fingerprint, state)).then(
        () => true,
        () => false,
      );
    }
    const samePlan = plan?.partSize === partSize && plan.partCount === partCount;
    const presigned = first && sign.parts && samePlan ? { parts: sign.parts, md5s: first.md5s, signedAt } : undefined;
    return { kind: 'multipart', uploadId: sign.uploadId, plan: sign.multipart, held: [], saved, ...(presigned ? { presigned } : {}) };
  }
  if (sign.presignedUrl === undefined) {
    await releaseUpload(api, sign.uploadId);
    throw new DropgateError('INTERNAL_ERROR', 'The sign answer has neither a presigned URL nor a part plan.');
  }
  return { kind: 'single', uploadId: sign.uploadId, url: sign.presignedUrl, headers: sign.headers };
}

/**
 * The parts a multipart sign call asks URLs for (the first `count`), with their MD5s when there is
 * a hasher, and the MD5s of the parts hashed beside them.
 * @example const first = await hashFirstParts(file, partSizeFor(file.size), { count: 4, hasher }, signal);
 */
export async function hashFirstParts(file: Blob, plan: PartPlan, first: SessionContext['firstParts'], signal: AbortSignal) {
  const { count, hasher } = first;
  const numbers = Array.from({ length: Math.min(count, plan.partCount) }, (_, i) => i + 1);
  if (numbers.length === 0 || signal.aborted) return undefined;
  if (!hasher) return { wanted: numbers.map((partNumber) => ({ partNumber })), md5s: new Map<number, string>() };
  // Hashed side by side, and as many more as the hasher has lanes: the SIMD MD5 takes as long
  // for twelve parts as for four, and the part signer then finds them hashed.
  const hashing = Array.from({ length: Math.min(plan.partCount, Math.max(count, hasher.lanes ?? 1)) }, (_, i) =>
    md5OfPart(hasher, partBlob(file, plan, i + 1), i + 1),
  );
  // Awaited in order; a failure leaves the others to finish unobserved.
  for (const md5 of hashing) md5.catch(() => undefined);
  const md5s = new Map<number, string>();
  for (const [i, md5] of hashing.entries()) md5s.set(i + 1, await md5);
  return { wanted: numbers.map((partNumber) => ({ partNumber, md5: md5s.get(partNumber) as string })), md5s };
}
