/**
 * Argument checks every store applies before it signs anything, so a bad key, size, type or
 * lifetime is refused the same way whichever store is configured.
 */
import { DropgateError } from '../shared/errors.js';

/** Longest lifetime of any presigned URL in dropgate: SigV4's own limit, 7 days. */
export const MAX_URL_LIFETIME = 7 * 24 * 60 * 60;

const CONTENT_TYPE_SHAPE = /^[\x21-\x7e]+\/[\x20-\x7e]+$/;

/** @example checkSize(target.size, MAX_SINGLE_PUT) */
export function checkSize(size: number, max: number): void {
  if (!Number.isSafeInteger(size) || size < 0 || size > max) {
    throw new DropgateError('INVALID_REQUEST', `Size must be a whole number of bytes from 0 to ${max}, got ${size}.`, { field: 'size' });
  }
}

/** @example checkContentType('video/mp4') */
export function checkContentType(contentType: string): void {
  if (typeof contentType !== 'string' || contentType.length > 255 || !CONTENT_TYPE_SHAPE.test(contentType)) {
    throw new DropgateError('INVALID_REQUEST', `${JSON.stringify(contentType)} is not a usable content type.`, { field: 'contentType' });
  }
}

/** @example checkExpiresIn(600) */
export function checkExpiresIn(expiresIn: number): void {
  if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_URL_LIFETIME) {
    throw new DropgateError(
      'INVALID_REQUEST',
      `expiresIn must be a whole number of seconds from 1 to ${MAX_URL_LIFETIME}, got ${expiresIn}.`,
      {
        field: 'expiresIn',
      },
    );
  }
}
