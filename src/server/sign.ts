/**
 * `POST {base}`: decide whether this caller may upload this file, reserve the allowance, pick the
 * key and sign. Every check runs before anything is reserved; nothing is signed unless all pass.
 */
import { randomUUID } from 'node:crypto';
import { DropgateError } from '../shared/errors.js';
import type { GatewayRequest, GatewayResponse } from '../shared/http.js';
import { json, jsonText } from '../shared/http.js';
import { type PartPlan, partSizeFor } from '../shared/parts.js';
import { assertNoClientKey, parseWith, SignRequestSchema, type SignResponse } from '../shared/protocol.js';
import { formatBytes } from '../shared/sizes.js';
import { assertNameMatchesType, assertSafeFileName, essence, extensionForType, isTypeAllowed } from '../shared/types.js';
import { periodKeyOf, type ResolvedRoute } from './config.js';
import { callerOf, type GatewayContext, readJson, readUrlOf } from './context.js';
import { isoTimeCache } from './iso-time.js';
import { assertPartsInPlan, checksumsOf, type PartWanted, signPartUrls } from './part-urls.js';
import { consumeBoth } from './rate-limit.js';
import { singlePutAnswerText } from './sign-answer.js';

type SignRequest = ReturnType<typeof parseSignRequest>;

const isoOfUrlExpiry = isoTimeCache();
const isoOfUploadExpiry = isoTimeCache();

function parseSignRequest(body: unknown) {
  assertNoClientKey(body);
  return parseWith(SignRequestSchema, body);
}

/** Size, type and name against the route; throws the error the user should see. */
export function assertAcceptable(route: ResolvedRoute, req: SignRequest): void {
  if (req.size <= 0) throw new DropgateError('INVALID_REQUEST', 'The file is empty.', { field: 'size' });
  if (req.size > route.maxSize) {
    throw new DropgateError('FILE_TOO_LARGE', `The file is ${formatBytes(req.size)}; the limit is ${formatBytes(route.maxSize)}.`, {
      maxBytes: route.maxSize,
      size: req.size,
    });
  }
  const type = essence(req.contentType);
  if (!isTypeAllowed(route.allowedTypes, type)) {
    throw new DropgateError('FILE_TYPE_NOT_ALLOWED', `Files of type "${type || 'unknown'}" are not accepted here.`, {
      contentType: type,
      allowedTypes: route.allowedTypes,
    });
  }
  if (req.name !== undefined) {
    assertSafeFileName(req.name);
    assertNameMatchesType(req.name, type);
  }
}

/** `{prefix}/{uuid}{.ext}`; `{userId}` in the prefix becomes a key-safe form of the user id. */
function keyFor(route: ResolvedRoute, userId: string, id: string, contentType: string): string {
  const prefix = route.keyPrefix.includes('{userId}')
    ? route.keyPrefix.replaceAll('{userId}', userId.replace(/[^A-Za-z0-9_-]/g, '_'))
    : route.keyPrefix;
  const ext = extensionForType(contentType);
  return `${prefix ? `${prefix}/` : ''}${id}${ext ? `.${ext}` : ''}`;
}

export async function handleSign(ctx: GatewayContext, request: GatewayRequest): Promise<GatewayResponse> {
  const { userId, ip } = await callerOf(ctx, request);
  const req = parseSignRequest(await readJson(request));
  const route = req.route === undefined ? ctx.defaultRoute : ctx.routes.get(req.route);
  if (!route) throw new DropgateError('INVALID_REQUEST', `Unknown route "${req.route}".`, { field: 'route' });

  await consumeBoth(ctx.limiters.get(route.name)!, ip, userId);
  assertAcceptable(route, req);
  const contentType = essence(req.contentType);

  const allowed = await ctx.hooks.onBeforeSign?.({
    userId,
    route,
    size: req.size,
    contentType,
    name: req.name,
    metadata: req.metadata,
    clientIp: ip,
  });
  if (allowed === false) throw new DropgateError('FORBIDDEN', 'This upload is not allowed.');

  const now = ctx.now();
  const id = randomUUID();
  const key = keyFor(route, userId, id, contentType);
  const multipart = req.multipart === true || req.size > ctx.storage.capabilities.maxSinglePutBytes;
  const plan = multipart ? partSizeFor(req.size) : undefined;
  if (req.parts && !plan) {
    throw new DropgateError('INVALID_REQUEST', 'Part URLs come only with a multipart upload ("multipart": true).', { field: 'parts' });
  }
  if (req.parts && plan) assertPartsInPlan(req.parts, plan);
  const multipartId = plan ? (await ctx.storage.createMultipart(key, contentType)).multipartId : null;
  const uploadExpiresAt = new Date(now.getTime() + route.uploadLifetime * 1000);

  const reserved = await ctx.ledger
    .reserve({
      id,
      userId,
      route: route.name,
      key,
      size: req.size,
      contentType,
      name: req.name ?? null,
      checksum: req.checksum ?? null,
      metadata: req.metadata ?? null,
      visibility: route.visibility,
      period: periodKeyOf(route.allowancePeriod, now),
      multipartId,
      partSize: plan?.partSize ?? null,
      partCount: plan?.partCount ?? null,
      expiresAt: uploadExpiresAt,
      allowanceBytes: route.allowanceBytes,
      pendingCap: route.maxPendingUploads,
    })
    .catch(async (error: unknown) => {
      if (multipartId) await ctx.storage.abortMultipart(key, multipartId).catch(() => {});
      throw error;
    });
  if (!reserved.ok) {
    if (multipartId) await ctx.storage.abortMultipart(key, multipartId).catch(() => {});
    if (reserved.reason === 'quota') {
      throw new DropgateError(
        'QUOTA_EXCEEDED',
        `This upload needs ${formatBytes(req.size)}; your allowance has ${formatBytes(reserved.remainingBytes)} left.`,
        { remainingBytes: reserved.remainingBytes },
      );
    }
    throw new DropgateError('TOO_MANY_PENDING_UPLOADS', `You have ${reserved.pending} unfinished uploads; finish or cancel some first.`, {
      pending: reserved.pending,
      maxPending: route.maxPendingUploads,
    });
  }

  const readUrl = readUrlOf(ctx, reserved.upload);
  if (!plan || !multipartId) {
    const answer = signSinglePut(ctx, route, {
      id,
      key,
      readUrl,
      contentType,
      size: req.size,
      checksum: req.checksum,
      ifNoneMatch: req.ifNoneMatch === true && ctx.storage.capabilities.conditionalWrite,
      uploadExpiresAt,
    });
    return jsonText(200, singlePutAnswerText(answer));
  }
  const answer: SignResponse = {
    uploadId: id,
    key,
    readUrl,
    method: 'PUT',
    headers: {},
    expiresAt: isoOfUploadExpiry(uploadExpiresAt),
    uploadExpiresAt: isoOfUploadExpiry(uploadExpiresAt),
    multipart: plan,
    ...(req.parts ? { parts: await firstPartUrls(ctx, route, { id, key, multipartId, size: req.size, plan }, req.parts) } : {}),
  };
  return json(200, answer);
}

/**
 * The first parts' URLs for the sign answer. Their MD5s are recorded before any URL leaves; if
 * that fails, the reservation just made is handed back, so a failed sign holds no allowance.
 */
async function firstPartUrls(
  ctx: GatewayContext,
  route: ResolvedRoute,
  u: { id: string; key: string; multipartId: string; size: number; plan: PartPlan },
  wanted: PartWanted[],
): Promise<SignResponse['parts']> {
  const parts = signPartUrls(ctx, { ...u, urlLifetime: route.urlLifetime }, wanted);
  const checksums = checksumsOf(wanted);
  if (checksums.length === 0) return parts;
  try {
    await ctx.ledger.recordPartChecksums(u.id, checksums);
  } catch (error) {
    if (await ctx.ledger.release(u.id, 'failed').catch(() => false)) {
      await ctx.storage.abortMultipart(u.key, u.multipartId).catch(() => {});
    }
    throw error;
  }
  return parts;
}

function signSinglePut(
  ctx: GatewayContext,
  route: ResolvedRoute,
  u: {
    id: string;
    key: string;
    readUrl: string;
    contentType: string;
    size: number;
    checksum: SignRequest['checksum'];
    ifNoneMatch: boolean;
    uploadExpiresAt: Date;
  },
): SignResponse & { presignedUrl: string } {
  const signed = ctx.storage.presignPut({
    key: u.key,
    size: u.size,
    contentType: u.contentType,
    expiresIn: route.urlLifetime,
    ...(u.checksum ? { checksum: u.checksum } : {}),
    ...(u.ifNoneMatch ? { ifNoneMatch: true } : {}),
  });
  return {
    uploadId: u.id,
    key: u.key,
    presignedUrl: signed.url,
    readUrl: u.readUrl,
    method: 'PUT',
    headers: signed.headers,
    expiresAt: isoOfUrlExpiry(signed.expiresAt),
    uploadExpiresAt: isoOfUploadExpiry(u.uploadExpiresAt),
  };
}
