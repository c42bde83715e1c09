/**
 * Checks that what landed in storage is what was signed for: presence, size, type, checksum,
 * multipart part plan, and the first bytes against the declared type. Used by complete and by the
 * sweeper, so both judge an upload the same way.
 */
import type { UploadRecord } from '../ledger/types.js';
import { DropgateError } from '../shared/errors.js';
import { partLength } from '../shared/parts.js';
import { essence } from '../shared/types.js';
import type { ObjectInfo } from '../storage/types.js';
import type { ResolvedRoute } from './config.js';
import type { GatewayContext } from './context.js';
import { bytesMatchType, SNIFF_BYTES } from './magic.js';

export type Verdict = { ok: true; object: ObjectInfo } | { ok: false; missing: true } | { ok: false; missing: false; reason: string };

const unquote = (etag: string) => etag.replace(/^W\//, '').replaceAll('"', '');

function base64ToHex(value: string): string {
  return Array.from(atob(value), (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
}

/** Assembles a multipart upload after checking its parts against the plan; undefined if parts are missing. */
async function assembleParts(ctx: GatewayContext, upload: UploadRecord, claimed: { partNumber: number; etag: string }[] | undefined) {
  const { key, multipartId, partSize, partCount, size } = upload;
  if (!multipartId || !partSize || !partCount) throw new DropgateError('INTERNAL_ERROR', 'Multipart upload without a plan.');
  const parts = (await ctx.storage.listParts(key, multipartId)).sort((a, b) => a.partNumber - b.partNumber);
  if (parts.length < partCount) return { missing: true as const };
  const plan = { partSize, partCount };
  for (const [i, part] of parts.entries()) {
    const expected = partLength(size, plan, i + 1);
    if (part.partNumber !== i + 1 || part.size !== expected) {
      return { missing: false as const, reason: `Part ${part.partNumber} has ${part.size} bytes; the plan says ${expected}.` };
    }
    const claim = claimed?.find((c) => c.partNumber === part.partNumber);
    if (claimed && (!claim || unquote(claim.etag) !== unquote(part.etag))) {
      return { missing: false as const, reason: `Part ${part.partNumber} is not the part the storage holds.` };
    }
  }
  await ctx.storage.completeMultipart(
    key,
    multipartId,
    parts.map(({ partNumber, etag }) => ({ partNumber, etag })),
  );
  return undefined;
}

export async function verifyLanded(
  ctx: GatewayContext,
  route: ResolvedRoute,
  upload: UploadRecord,
  claimedParts?: { partNumber: number; etag: string }[],
): Promise<Verdict> {
  let object = await ctx.storage.head(upload.key);
  if (!object && upload.multipartId) {
    const problem = await assembleParts(ctx, upload, claimedParts);
    if (problem) return { ok: false, ...problem };
    object = await ctx.storage.head(upload.key);
  }
  if (!object) return { ok: false, missing: true };
  if (object.size !== upload.size) {
    return { ok: false, missing: false, reason: `The storage holds ${object.size} bytes; ${upload.size} were signed for.` };
  }
  if (essence(object.contentType) !== upload.contentType) {
    return { ok: false, missing: false, reason: `The storage holds type ${object.contentType}; ${upload.contentType} was signed for.` };
  }
  if (upload.checksum?.algorithm === 'md5' && !upload.multipartId && unquote(object.etag) !== base64ToHex(upload.checksum.value)) {
    return { ok: false, missing: false, reason: 'The stored bytes do not match the signed MD5.' };
  }
  if (route.checkMagicBytes) {
    const head = await ctx.storage.readRange(upload.key, 0, SNIFF_BYTES - 1);
    if (!bytesMatchType(head, upload.contentType)) {
      return { ok: false, missing: false, reason: `The file's contents are not ${upload.contentType}.` };
    }
  }
  return { ok: true, object };
}
