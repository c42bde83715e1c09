/**
 * Completed files: the caller's list with their allowance, the stable read URL of a file (which
 * completes a pending upload on its first read and refuses a file changed since complete), and
 * deletion with a refund.
 */
import { DropgateError, isDropgateError } from '../shared/errors.js';
import type { GatewayRequest, GatewayResponse } from '../shared/http.js';
import { json } from '../shared/http.js';
import type { Allowance, FileListResponse } from '../shared/protocol.js';
import { completeOnce } from './complete.js';
import { periodOf } from './config.js';
import { callerOf, fileRecordOf, type GatewayContext, routeOf } from './context.js';
import { clientIp, identify } from './identity.js';

const MAX_PAGE = 100;

export async function handleList(ctx: GatewayContext, request: GatewayRequest): Promise<GatewayResponse> {
  const { userId } = await callerOf(ctx, request);
  const routeName = request.searchParams.get('route');
  const route = routeName ? routeOf(ctx, routeName) : ctx.defaultRoute;
  const limit = Math.min(MAX_PAGE, Math.max(1, Number(request.searchParams.get('limit')) || 50));
  const cursor = request.searchParams.get('cursor') ?? undefined;
  const page = await ctx.ledger.listFiles(userId, cursor === undefined ? { limit } : { limit, cursor });
  const { key, resetsAt } = periodOf(route.allowancePeriod, ctx.now());
  const usage = await ctx.ledger.usage(userId, route.name, key);
  const allowance: Allowance = {
    limitBytes: route.allowanceBytes,
    usedBytes: usage.usedBytes,
    reservedBytes: usage.reservedBytes,
    remainingBytes: Math.max(0, route.allowanceBytes - usage.usedBytes - usage.reservedBytes),
    period: route.allowancePeriod,
    resetsAt: resetsAt?.toISOString() ?? null,
  };
  const answer: FileListResponse = { files: page.files.map((f) => fileRecordOf(ctx, f)), nextCursor: page.nextCursor, allowance };
  return json(200, answer);
}

/** Refusals of a completion that, to a reader, mean there is no file (yet). */
const NO_FILE_YET = new Set(['UPLOAD_NOT_RECEIVED', 'UPLOAD_ABORTED', 'UPLOAD_EXPIRED', 'UPLOAD_INTEGRITY_FAILED']);

const unquote = (etag: string) => etag.replace(/^W\//, '').replaceAll('"', '');

/**
 * Redirects to a short-lived signed read. Public files for anyone, private ones for their owner.
 *
 * A pending upload is completed on its first read (the seed's client reads `readUrl` right after
 * its PUT and never calls complete): the very completion of `POST …/complete`, shared with it
 * through `completeOnce`, so the bytes are verified before anyone is sent to them; 404 while they
 * are not there or do not verify.
 *
 * Every read HEADs the object and refuses (422) one whose ETag is not the one recorded at
 * complete: an overwrite through a still-valid URL or behind dropgate's back is never served as
 * the verified file.
 */
export async function handleRead(ctx: GatewayContext, request: GatewayRequest, id: string): Promise<GatewayResponse> {
  const found = /^[0-9a-f-]{36}$/.test(id) ? await ctx.ledger.getUpload(id) : undefined;
  const notFound = new DropgateError('NOT_FOUND', 'No such file.');
  if (found?.status !== 'completed' && found?.status !== 'pending') throw notFound;
  if (found.visibility === 'private') {
    const caller = await identify(request, clientIp(request, ctx.trustProxy), ctx.authenticate).catch(() => undefined);
    if (caller?.userId !== found.userId) throw notFound;
  }
  let upload = found;
  if (found.status === 'pending') {
    await completeOnce(ctx, found, { request }).catch((error: unknown) => {
      throw isDropgateError(error) && NO_FILE_YET.has(error.code) ? notFound : error;
    });
    upload = (await ctx.ledger.getUpload(id)) ?? found;
  }
  const object = await ctx.storage.head(upload.key);
  if (!object) throw notFound;
  if (upload.etag !== null && unquote(object.etag) !== unquote(upload.etag)) {
    ctx.log({ level: 'warn', msg: 'stored file changed after complete; not served', uploadId: id, userId: upload.userId }, request);
    throw new DropgateError('UPLOAD_INTEGRITY_FAILED', 'The stored file is not the one that was verified; it was changed after upload.');
  }
  const route = ctx.routes.get(upload.route) ?? ctx.defaultRoute;
  const signed = ctx.storage.presignGet(upload.key, {
    expiresIn: Math.min(route.urlLifetime, 3600),
    ...(upload.name !== null ? { fileName: upload.name } : {}),
  });
  return { status: 302, headers: { location: signed.url, 'cache-control': 'private, no-store' } };
}

export async function handleDeleteFile(ctx: GatewayContext, request: GatewayRequest, id: string): Promise<GatewayResponse> {
  const { userId } = await callerOf(ctx, request);
  const deleted = /^[0-9a-f-]{36}$/.test(id) ? await ctx.ledger.deleteFile(id, userId) : undefined;
  if (!deleted) throw new DropgateError('NOT_FOUND', 'No such file.');
  await ctx.storage.delete(deleted.key);
  ctx.log({ level: 'info', msg: 'file deleted', uploadId: id, userId, size: deleted.size }, request);
  return json(200, { id, deleted: true });
}
