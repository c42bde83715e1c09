/**
 * Reconciles uploads past their upload lifetime: an object that is there and verifies is recorded
 * as completed (the client finished the PUT but never called complete); anything else is removed
 * and its reservation released. Each instance may sweep; the ledger's claims keep one upload to one
 * sweeper at a time.
 */
import type { UploadRecord } from '../ledger/types.js';
import { discard, runCompleteHook } from './complete.js';
import type { GatewayContext } from './context.js';
import { verifyLanded } from './verify.js';

export interface SweepResult {
  completed: number;
  expired: number;
  failed: number;
}

const BATCH = 100;
const LEASE_SECONDS = 120;

async function reconcile(ctx: GatewayContext, upload: UploadRecord): Promise<keyof SweepResult> {
  const route = ctx.routes.get(upload.route) ?? ctx.defaultRoute;
  // A multipart upload left unfinished is not assembled on the user's behalf: it may be partial.
  const verdict = upload.multipartId ? { ok: false as const } : await verifyLanded(ctx, route, upload);
  if (verdict.ok) {
    // The hook runs here too: the app must hear of every file, not only of those whose client
    // called complete. If it throws, the upload stays pending and a later pass tries again.
    await runCompleteHook(ctx, route, upload);
    const { changed } = await ctx.ledger.complete(upload.id, { size: verdict.object.size, etag: verdict.object.etag });
    return changed ? 'completed' : 'expired';
  }
  await discard(ctx, upload, 'expired');
  return 'expired';
}

/** One pass over every expired upload. */
export async function sweep(ctx: GatewayContext): Promise<SweepResult> {
  const result: SweepResult = { completed: 0, expired: 0, failed: 0 };
  for (;;) {
    const batch = await ctx.ledger.claimExpired(ctx.now(), BATCH, LEASE_SECONDS);
    for (const upload of batch) {
      try {
        result[await reconcile(ctx, upload)] += 1;
      } catch (error) {
        // The claim lapses and a later pass tries again.
        result.failed += 1;
        ctx.log({ level: 'warn', msg: 'sweep failed for an upload', uploadId: upload.id, error: String(error) });
      }
    }
    if (batch.length < BATCH) return result;
  }
}
