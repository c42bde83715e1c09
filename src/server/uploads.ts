/**
 * The other calls on one upload: status (for resume), part URLs, abort.
 */
import { DropgateError } from '../shared/errors.js';
import type { GatewayRequest, GatewayResponse } from '../shared/http.js';
import { json } from '../shared/http.js';
import { PartsRequestSchema, type PartsResponse, parseWith, type StatusResponse } from '../shared/protocol.js';
import { assertPending, discard } from './complete.js';
import { callerOf, fileRecordOf, type GatewayContext, ownUpload, readJson } from './context.js';
import { assertPartsInPlan, checksumsOf, signPartUrls } from './part-urls.js';

export async function handleStatus(ctx: GatewayContext, request: GatewayRequest, id: string): Promise<GatewayResponse> {
  const { userId } = await callerOf(ctx, request);
  const upload = await ownUpload(ctx, id, userId);
  const status: StatusResponse = {
    uploadId: upload.id,
    status: upload.status,
    key: upload.key,
    size: upload.size,
    contentType: upload.contentType,
    expiresAt: upload.expiresAt.toISOString(),
  };
  if (upload.partSize && upload.partCount) status.multipart = { partSize: upload.partSize, partCount: upload.partCount };
  if (upload.multipartId && upload.status === 'pending') status.parts = await ctx.storage.listParts(upload.key, upload.multipartId);
  if (upload.status === 'completed') status.file = fileRecordOf(ctx, upload);
  return json(200, status);
}

export async function handleParts(ctx: GatewayContext, request: GatewayRequest, id: string): Promise<GatewayResponse> {
  const { userId } = await callerOf(ctx, request);
  const body = parseWith(PartsRequestSchema, await readJson(request));
  const upload = await ownUpload(ctx, id, userId);
  if (upload.status === 'completed') throw new DropgateError('INVALID_REQUEST', 'This upload is already complete.');
  assertPending(upload);
  const { multipartId, partSize, partCount } = upload;
  if (!multipartId || !partSize || !partCount) throw new DropgateError('INVALID_REQUEST', 'This upload is a single PUT; it has no parts.');
  const route = ctx.routes.get(upload.route) ?? ctx.defaultRoute;
  const plan = { partSize, partCount };
  assertPartsInPlan(body.parts, plan);
  const parts = signPartUrls(ctx, { key: upload.key, multipartId, size: upload.size, plan, urlLifetime: route.urlLifetime }, body.parts);
  // Recorded before any URL leaves: complete then holds each stored part to the MD5 it was signed
  // with. And a big upload that is still sending parts keeps its reservation: its lifetime starts again.
  await ctx.ledger.partsSigned(upload.id, checksumsOf(body.parts), new Date(ctx.now().getTime() + route.uploadLifetime * 1000));
  return json(200, { parts } satisfies PartsResponse);
}

export async function handleAbort(ctx: GatewayContext, request: GatewayRequest, id: string): Promise<GatewayResponse> {
  const { userId } = await callerOf(ctx, request);
  const upload = await ownUpload(ctx, id, userId);
  if (upload.status === 'pending' && (await discard(ctx, upload, 'aborted'))) return json(200, { uploadId: id, status: 'aborted' });
  // Not pending, or a complete won the race: answer with what the ledger holds now.
  const current = upload.status === 'pending' ? await ownUpload(ctx, id, userId) : upload;
  if (current.status === 'completed') {
    throw new DropgateError('INVALID_REQUEST', `This upload is complete; delete the file with DELETE ${ctx.basePath}/files/${id}.`);
  }
  return json(200, { uploadId: id, status: current.status });
}
