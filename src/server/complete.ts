/**
 * `POST {base}/{id}/complete`: verify what landed, run the hook, record the file once. Parallel
 * calls for one upload share one verification in this process; across processes the ledger's
 * conditional update makes exactly one of them charge.
 */
import type { UploadRecord } from '../ledger/types.js';
import { DropgateError } from '../shared/errors.js';
import type { GatewayRequest, GatewayResponse } from '../shared/http.js';
import { json } from '../shared/http.js';
import { CompleteRequestSchema, type FileRecord, parseWith } from '../shared/protocol.js';
import type { ResolvedRoute } from './config.js';
import { callerOf, fileRecordOf, type GatewayContext, ownUpload, readJson, readUrlOf } from './context.js';
import { verifyLanded } from './verify.js';

export async function handleComplete(ctx: GatewayContext, request: GatewayRequest, id: string): Promise<GatewayResponse> {
  const { userId } = await callerOf(ctx, request);
  const body = parseWith(CompleteRequestSchema, await readJson(request));
  const upload = await ownUpload(ctx, id, userId);
  return json(200, { file: await completeOnce(ctx, upload, { claimedParts: body.parts, request }) });
}

/** The parts the client says it sent, and the request that asked (named in the log). */
interface CompleteCall {
  claimedParts?: { partNumber: number; etag: string }[] | undefined;
  request: GatewayRequest;
}

/**
 * Verifies and records an upload, sharing one run among parallel callers in this process: complete,
 * and a first read of a still-pending file (`files.ts`). The caller has checked access.
 */
export function completeOnce(ctx: GatewayContext, upload: UploadRecord, call: CompleteCall): Promise<FileRecord> {
  let completion = ctx.completions.get(upload.id);
  if (!completion) {
    completion = completeUpload(ctx, upload, call).finally(() => ctx.completions.delete(upload.id));
    ctx.completions.set(upload.id, completion);
  }
  return completion;
}

/** Throws the error that matches an upload that is no longer pending. */
export function assertPending(upload: UploadRecord): void {
  if (upload.status === 'aborted') throw new DropgateError('UPLOAD_ABORTED', 'This upload was cancelled.');
  if (upload.status === 'expired') throw new DropgateError('UPLOAD_EXPIRED', 'This upload expired before it was completed.');
  if (upload.status === 'failed') {
    throw new DropgateError('UPLOAD_INTEGRITY_FAILED', 'This upload failed verification; its file was removed. Upload it again.');
  }
}

async function completeUpload(ctx: GatewayContext, upload: UploadRecord, { claimedParts, request }: CompleteCall): Promise<FileRecord> {
  if (upload.status === 'completed') return fileRecordOf(ctx, upload);
  assertPending(upload);
  const route = ctx.routes.get(upload.route) ?? ctx.defaultRoute;
  // An abort (or the sweeper) may remove the object while it is being checked: then the upload's
  // new state is the answer, not the NOT_FOUND of a vanished object or a 409 that invites a retry.
  const verdict = await verifyLanded(ctx, route, upload, claimedParts).catch(async (error: unknown) => {
    await assertStillPending(ctx, upload.id);
    throw error;
  });
  if (!verdict.ok && verdict.missing) {
    await assertStillPending(ctx, upload.id);
    throw new DropgateError('UPLOAD_NOT_RECEIVED', 'The file has not arrived in storage yet; upload it, then complete.');
  }
  if (!verdict.ok) {
    await discard(ctx, upload, 'failed');
    throw new DropgateError('UPLOAD_INTEGRITY_FAILED', `${verdict.reason} The file was removed.`);
  }
  await runCompleteHook(ctx, route, upload);
  const { changed, upload: recorded } = await ctx.ledger.complete(upload.id, { size: verdict.object.size, etag: verdict.object.etag });
  if (!changed) assertPending(recorded);
  else ctx.log({ level: 'info', msg: 'upload completed', uploadId: upload.id, userId: upload.userId, size: recorded.size }, request);
  return fileRecordOf(ctx, recorded);
}

async function assertStillPending(ctx: GatewayContext, id: string): Promise<void> {
  const current = await ctx.ledger.getUpload(id);
  if (current) assertPending(current);
}

/**
 * Runs `onUploadComplete` before the ledger records the upload, so that a hook that throws leaves
 * it verified but pending and the next complete (or the sweeper) runs the hook again. The app's
 * own DropgateError is answered as it is; anything else is its outage, not the client's mistake:
 * 503, with the cause logged for the operator and kept from the client.
 */
export async function runCompleteHook(ctx: GatewayContext, route: ResolvedRoute, upload: UploadRecord): Promise<void> {
  try {
    await ctx.hooks.onUploadComplete?.({ userId: upload.userId, route, upload, url: readUrlOf(ctx, upload) });
  } catch (error) {
    if (error instanceof DropgateError) throw error;
    throw new DropgateError(
      'SERVICE_UNAVAILABLE',
      'The file arrived and was verified, but the app could not record it yet; complete it again.',
      { uploadId: upload.id },
      { cause: error },
    );
  }
}

/**
 * Releases the reservation, then removes whatever bytes arrived. In that order, so a file is never
 * deleted while the ledger still counts it as pending and completable.
 */
export async function discard(ctx: GatewayContext, upload: UploadRecord, status: 'aborted' | 'expired' | 'failed'): Promise<boolean> {
  const released = await ctx.ledger.release(upload.id, status);
  if (!released) return false;
  if (upload.multipartId) await ctx.storage.abortMultipart(upload.key, upload.multipartId);
  await ctx.storage.delete(upload.key);
  return true;
}
