/**
 * Signing part URLs, for the parts call and for the first parts that ride along with a sign answer.
 * Each URL binds its part's exact length under the plan and, when the client sent one, its MD5.
 */
import { DropgateError } from '../shared/errors.js';
import { type PartPlan, partLength } from '../shared/parts.js';
import type { PartsRequest, PartsResponse } from '../shared/protocol.js';
import type { GatewayContext } from './context.js';

export type PartWanted = PartsRequest['parts'][number];

/** Throws INVALID_REQUEST for a part number past the plan, before anything is signed or written. */
export function assertPartsInPlan(parts: readonly PartWanted[], plan: PartPlan): void {
  for (const { partNumber } of parts) {
    if (partNumber > plan.partCount) {
      throw new DropgateError('INVALID_REQUEST', `This upload has ${plan.partCount} parts; there is no part ${partNumber}.`, {
        field: 'parts',
      });
    }
  }
}

/**
 * The signed URLs for `parts` of one multipart upload, whose numbers the caller has checked with
 * `assertPartsInPlan` (before reserving anything, on sign). The caller records the MD5s
 * (`checksumsOf`) in the ledger before any URL leaves: complete holds each part to its MD5.
 */
export function signPartUrls(
  ctx: GatewayContext,
  upload: { key: string; multipartId: string; size: number; plan: PartPlan; urlLifetime: number },
  parts: readonly PartWanted[],
): PartsResponse['parts'] {
  return parts.map(({ partNumber, md5 }) => {
    const signed = ctx.storage.presignPart({
      key: upload.key,
      multipartId: upload.multipartId,
      partNumber,
      size: partLength(upload.size, upload.plan, partNumber),
      // Lets a store that can (the disk store) write the part straight into its place in the object.
      partSize: upload.plan.partSize,
      expiresIn: upload.urlLifetime,
      ...(md5 ? { md5 } : {}),
    });
    return { partNumber, url: signed.url, headers: signed.headers, expiresAt: signed.expiresAt.toISOString() };
  });
}

/** The parts that came with an MD5, as the ledger records them. */
export function checksumsOf(parts: readonly PartWanted[]): { partNumber: number; md5: string }[] {
  return parts.flatMap(({ partNumber, md5 }) => (md5 ? [{ partNumber, md5 }] : []));
}
