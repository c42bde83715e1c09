/**
 * Checks that what landed in storage is what was signed for: presence, size, type, checksum,
 * multipart part plan, and the first bytes against the declared type. Used by complete and by the
 * sweeper, so both judge an upload the same way.
 */
import type { UploadRecord } from '../ledger/types.js';
import { DropgateError } from '../shared/errors.js';
import { type PartPlan, partLength } from '../shared/parts.js';
import { essence } from '../shared/types.js';
import type { ObjectInfo, StoredPart } from '../storage/types.js';
import type { ResolvedRoute } from './config.js';
import type { GatewayContext } from './context.js';
import { bytesMatchType, SNIFF_BYTES } from './magic.js';

export type Verdict = { ok: true; object: ObjectInfo } | { ok: false; missing: true } | { ok: false; missing: false; reason: string };

type ClaimedPart = { partNumber: number; etag: string };

const unquote = (etag: string) => etag.replace(/^W\//, '').replaceAll('"', '');

function base64ToHex(value: string): string {
  return Array.from(atob(value), (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
}

// A plain part's ETag is the hex MD5 of its bytes (S3, RGW, MinIO, the disk store). Anything else
// (S3 with SSE-KMS or SSE-C) says nothing about the bytes, so it cannot be held to a signed MD5.
const HEX_MD5 = /^[0-9a-f]{32}$/;

/**
 * Checks the stored parts against the plan (count, each part's exact size, hence the total) and
 * against the MD5 each was signed with, from ListParts alone: no byte is read back.
 * Returns `missing` while parts are still to come, a reason when what is there is wrong.
 */
async function checkParts(
  ctx: GatewayContext,
  upload: UploadRecord,
  plan: PartPlan,
  parts: StoredPart[],
  claimed: ClaimedPart[] | undefined,
) {
  const { size } = upload;
  const { partCount } = plan;
  if (parts.length > partCount)
    return { missing: false as const, reason: `The storage holds ${parts.length} parts; the plan has ${partCount}.` };
  const signed = new Map((await ctx.ledger.partChecksums(upload.id)).map((c) => [c.partNumber, base64ToHex(c.md5)]));
  let total = 0;
  for (const [i, part] of parts.entries()) {
    if (part.partNumber !== i + 1) return { missing: true as const };
    const expected = partLength(size, plan, i + 1);
    if (part.size !== expected) {
      return { missing: false as const, reason: `Part ${part.partNumber} has ${part.size} bytes; the plan says ${expected}.` };
    }
    total += part.size;
    const claim = claimed?.find((c) => c.partNumber === part.partNumber);
    if (claimed && (!claim || unquote(claim.etag) !== unquote(part.etag))) {
      return { missing: false as const, reason: `Part ${part.partNumber} is not the part the storage holds.` };
    }
    const md5 = signed.get(part.partNumber);
    const etag = unquote(part.etag).toLowerCase();
    if (md5 !== undefined && HEX_MD5.test(etag) && etag !== md5) {
      return { missing: false as const, reason: `Part ${part.partNumber} does not match the MD5 its URL was signed with.` };
    }
  }
  if (parts.length < partCount) return { missing: true as const };
  if (total !== size) return { missing: false as const, reason: `The parts hold ${total} bytes; ${size} were signed for.` };
  return undefined;
}

/**
 * Assembles a multipart upload after checking its parts. Returns the object it made, a verdict's
 * problem, or `gone` when the store has no such multipart upload any more (assembled by an earlier
 * complete, or aborted): then the object itself, if any, is what to judge.
 */
async function assembleParts(ctx: GatewayContext, upload: UploadRecord, claimed: ClaimedPart[] | undefined) {
  const { key, multipartId, partSize, partCount } = upload;
  if (!multipartId || !partSize || !partCount) throw new DropgateError('INTERNAL_ERROR', 'Multipart upload without a plan.');
  const parts = await ifStillOpen(() => ctx.storage.listParts(key, multipartId));
  if (parts === 'gone') return parts;
  parts.sort((a, b) => a.partNumber - b.partNumber);
  const problem = await checkParts(ctx, upload, { partSize, partCount }, parts, claimed);
  if (problem) return problem;
  const assembled = await ifStillOpen(() =>
    ctx.storage.completeMultipart(
      key,
      multipartId,
      parts.map(({ partNumber, etag }) => ({ partNumber, etag })),
    ),
  );
  if (assembled === 'gone') return assembled;
  // The store assembled exactly the parts listed, so their sizes add up to what was signed for,
  // and the object's type is the one the gateway gave CreateMultipartUpload.
  const object: ObjectInfo = { size: upload.size, contentType: upload.contentType, etag: assembled.etag, lastModified: ctx.now() };
  return { object };
}

/** The call's result, or `gone` when the store answers that the multipart upload is not there. */
async function ifStillOpen<T>(call: () => Promise<T>): Promise<T | 'gone'> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof DropgateError && error.code === 'NOT_FOUND') return 'gone';
    throw error;
  }
}

// Fetch adds `Cache-Control: no-cache` to a request carrying If-None-Match (browsers, Node), and S3
// keeps it on the object: harmless, since it only asks for less caching. Anything more is refused.
const CACHE_RESTRICTING = /^(?:no-cache|no-store|private|must-revalidate|no-transform|max-age=0)$/i;
const onlyRefusesCaching = (value: string) => value.split(',').every((d) => CACHE_RESTRICTING.test(d.trim()));

export async function verifyLanded(
  ctx: GatewayContext,
  route: ResolvedRoute,
  upload: UploadRecord,
  claimedParts?: ClaimedPart[],
): Promise<Verdict> {
  if (upload.multipartId) {
    const assembled = await assembleParts(ctx, upload, claimedParts);
    if (assembled !== 'gone') {
      if (!('object' in assembled)) return { ok: false, ...assembled };
      // An object assembled from parts has no header or grant the gateway did not give it: a part
      // PUT cannot set either (test/attacks/header-smuggling.test.ts tries). Its bytes still are checked.
      return checkContents(ctx, route, upload, assembled.object);
    }
  }
  const object = await ctx.storage.head(upload.key);
  if (!object) return { ok: false, missing: true };
  if (object.size !== upload.size) {
    return { ok: false, missing: false, reason: `The storage holds ${object.size} bytes; ${upload.size} were signed for.` };
  }
  if (essence(object.contentType) !== upload.contentType) {
    return { ok: false, missing: false, reason: `The storage holds type ${object.contentType}; ${upload.contentType} was signed for.` };
  }
  // A header the URL did not sign but the store kept (S3 does) would be served with the file:
  // Content-Disposition naming it invoice.html, a Content-Encoding that garbles it, a year of caching.
  const extra = Object.entries(object.extraHeaders ?? {})
    .filter(([name, value]) => !(name === 'cache-control' && onlyRefusesCaching(value)))
    .map(([name]) => name);
  if (extra.length > 0) {
    return { ok: false, missing: false, reason: `The object was stored with headers that were not signed for: ${extra.join(', ')}.` };
  }
  const grants = (await ctx.storage.foreignGrants?.(upload.key)) ?? [];
  if (grants.length > 0)
    return { ok: false, missing: false, reason: `The object was stored with grants that were not signed for: ${grants.join(', ')}.` };
  if (upload.checksum?.algorithm === 'md5' && !upload.multipartId && unquote(object.etag) !== base64ToHex(upload.checksum.value)) {
    return { ok: false, missing: false, reason: 'The stored bytes do not match the signed MD5.' };
  }
  return checkContents(ctx, route, upload, object);
}

/** The first bytes against the declared type, where the route asks for it. */
async function checkContents(ctx: GatewayContext, route: ResolvedRoute, upload: UploadRecord, object: ObjectInfo): Promise<Verdict> {
  if (route.checkMagicBytes) {
    const head = await ctx.storage.readRange(upload.key, 0, SNIFF_BYTES - 1);
    if (!bytesMatchType(head, upload.contentType)) {
      return { ok: false, missing: false, reason: `The file's contents are not ${upload.contentType}.` };
    }
  }
  return { ok: true, object };
}
