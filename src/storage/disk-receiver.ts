/**
 * The HTTP side of the disk store: the gateway routes `PUT|GET|HEAD {base}/_disk/{token}` here.
 *
 * A PUT is accepted only when everything the token signed holds: operation, key, exact byte count
 * (counted as it arrives), content type, checksum, expiry, and that no earlier upload through the
 * same token succeeded. Answers mirror S3: 200 with an ETag on success, plain statuses otherwise:
 *
 * | refusal                                                          | status | code                    |
 * |------------------------------------------------------------------|--------|-------------------------|
 * | forged token; read URL used to write; type or checksum header     | 403    | FORBIDDEN               |
 * | differs from the signed one; token already carried an upload      |        |                         |
 * | URL past its expiry                                               | 410    | UPLOAD_EXPIRED          |
 * | body longer or shorter than signed (or Content-Length says so);  | 400    | INVALID_REQUEST         |
 * | a signed key that is not a valid key                              |        |                         |
 * | body does not hash to the signed (or sent) checksum               | 422    | UPLOAD_INTEGRITY_FAILED |
 * | `ifNoneMatch` URL and the key already holds an object             | 412    | FORBIDDEN               |
 * | part of a multipart upload that is gone; read of a missing object | 404    | NOT_FOUND               |
 * | read range outside the object                                     | 416    | INVALID_REQUEST         |
 * | a method other than PUT, GET, HEAD                                | 405    | METHOD_NOT_ALLOWED      |
 * | disk full, read-only, permission denied, I/O error                | 503    | STORAGE_UNAVAILABLE     |
 *
 * Every refusal carries `{"error":{code,message,reason}}`; `reason` tells the 403s apart.
 */
import { unlink, writeFile } from 'node:fs/promises';
import { DropgateError } from '../shared/errors.js';
import type { GatewayRequest, GatewayResponse } from '../shared/http.js';
import { json } from '../shared/http.js';
import { essence } from '../shared/types.js';
import { exists, isErrno, publish, removeQuietly, storageError } from './disk-file.js';
import { claimRegion, landRegion, type Region, receiveIntoRegion, releaseRegion } from './disk-in-place.js';
import { readUploadRecord } from './disk-multipart.js';
import type { DiskLayout } from './disk-paths.js';
import { serveObject } from './disk-serve.js';
import { assertFresh, type PartClaims, type PutClaims, type TokenClaims, type TokenSigner } from './disk-token.js';
import { drain, type ExpectedBody, receiveBody } from './disk-write.js';
import type { StorageReceiver } from './types.js';

export interface DiskContext {
  layout: DiskLayout;
  signer: TokenSigner;
  /** Milliseconds since the epoch. */
  now(): number;
}

export function createDiskReceiver(ctx: DiskContext): StorageReceiver {
  return {
    async handle(request, token) {
      const method = request.method.toUpperCase();
      try {
        if (method === 'PUT') return await receive(ctx, request, token);
        if (method === 'GET' || method === 'HEAD') {
          const claims = ctx.signer.verify(token, ctx.now());
          if (claims.op !== 'get' && claims.op !== 'read-public')
            throw forbidden('This URL is for uploading, not reading.', 'wrong-operation');
          return await serveObject(ctx.layout, request, claims, method === 'HEAD');
        }
        return errorResponse(new DropgateError('METHOD_NOT_ALLOWED', `${method} is not supported here.`), { allow: 'GET, HEAD, PUT' });
      } catch (error) {
        return errorResponse(storageError(error, 'answering a request'));
      }
    },
  };
}

// What a refusal reads off a body whose token is not genuine before hanging up.
const UNSIGNED_DRAIN_BYTES = 1024 * 1024;

async function receive(ctx: DiskContext, request: GatewayRequest, token: string): Promise<GatewayResponse> {
  const body = request.body()[Symbol.asyncIterator]();
  let drainBytes = UNSIGNED_DRAIN_BYTES;
  try {
    const claims = ctx.signer.open(token);
    // A genuine token's client sends at most what was signed (expired, replayed or not): reading
    // that much off lets it hear why it was refused, instead of a reset it would retry blindly.
    if ('size' in claims) drainBytes = Math.max(drainBytes, claims.size);
    return await accept(ctx, request, claims, body);
  } catch (error) {
    const drained = await drain(body, drainBytes);
    return errorResponse(storageError(error, 'receiving an upload'), drained ? {} : { connection: 'close' });
  }
}

async function accept(
  ctx: DiskContext,
  request: GatewayRequest,
  claims: TokenClaims,
  body: AsyncIterator<Uint8Array>,
): Promise<GatewayResponse> {
  if (claims.op !== 'put' && claims.op !== 'part') throw forbidden('This URL is for reading, not uploading.', 'wrong-operation');
  assertFresh(claims, ctx.now());
  const { layout } = ctx;
  const target = claims.op === 'put' ? layout.objectPath(claims.key) : layout.partPath(claims.multipartId, claims.partNumber);
  const marker = layout.markerPath(claims.exp, claims.nonce);
  // Cheap early answer for a replay; the exclusive create below is what actually decides.
  if (await exists(marker)) throw tokenUsed();

  const expected = checkHeaders(request, claims);
  if (claims.op === 'part') await readUploadRecord(layout, claims.key, claims.multipartId);
  if (claims.op === 'put' && claims.ifNoneMatch && (await exists(target))) throw objectExists();

  await layout.ready();
  const region = claims.op === 'part' ? await claimRegion(layout, claims) : undefined;
  if (region) return acceptInPlace(ctx, region, body, expected, marker);
  const temp = layout.tempPath(claims.op);
  const meta = await receiveBody(body, temp, expected, ctx.now());
  try {
    await claimMarker(marker);
  } catch (error) {
    await removeQuietly(temp);
    throw error;
  }
  try {
    await publish(temp, target, { exclusive: claims.op === 'put' && claims.ifNoneMatch === true, parents: claims.op === 'put' });
  } catch (error) {
    // The upload did not land, so the token has not been used up.
    await Promise.all([removeQuietly(temp), unlink(marker).catch(() => undefined)]);
    throw error;
  }
  return landed(meta.etag);
}

/** A part written straight into its place in the upload's data file (disk-in-place.ts). */
async function acceptInPlace(
  ctx: DiskContext,
  region: Region,
  body: AsyncIterator<Uint8Array>,
  expected: ExpectedBody,
  marker: string,
): Promise<GatewayResponse> {
  const received = await receiveIntoRegion(region, body, expected, ctx.now());
  try {
    await claimMarker(marker);
  } catch (error) {
    await Promise.all([removeQuietly(received.record), releaseRegion(region)]);
    throw error;
  }
  try {
    await landRegion(region, received);
  } catch (error) {
    // The upload did not land, so the token has not been used up.
    await unlink(marker).catch(() => undefined);
    throw error;
  }
  return landed(received.etag);
}

function landed(etag: string): GatewayResponse {
  return {
    status: 200,
    headers: { etag, 'access-control-expose-headers': 'ETag', 'cache-control': 'no-store', 'content-length': '0' },
    body: '',
  };
}

/** Checks the signed headers before any byte is read, and returns what the body must be. */
function checkHeaders(request: GatewayRequest, claims: PutClaims | PartClaims): ExpectedBody {
  const declared = request.header('content-length');
  if (declared !== undefined && declared.trim() !== String(claims.size)) {
    throw new DropgateError('INVALID_REQUEST', `The URL was signed for exactly ${claims.size} bytes; Content-Length says ${declared}.`, {
      reason: 'size-mismatch',
      expectedBytes: claims.size,
    });
  }
  const md5Header = request.header('content-md5')?.trim();
  const signedMd5 = claims.op === 'put' ? (claims.checksum?.algorithm === 'md5' ? claims.checksum.value : undefined) : claims.md5;
  if (signedMd5 !== undefined && md5Header !== signedMd5)
    throw forbidden('The Content-MD5 header differs from the signed one.', 'wrong-checksum-header');
  // An unsigned Content-MD5 is still the client's promise about its bytes: hold it to it, as S3 does.
  const expected: ExpectedBody = { size: claims.size, contentType: '' };
  if (md5Header !== undefined) expected.md5 = md5Header;
  if (claims.op === 'part') return expected;

  const type = request.header('content-type');
  if (type === undefined || essence(type) !== essence(claims.contentType)) {
    throw forbidden(`The URL was signed for Content-Type ${claims.contentType}.`, 'wrong-content-type');
  }
  expected.contentType = claims.contentType;
  if (claims.checksum?.algorithm === 'sha256') {
    if (request.header('x-amz-checksum-sha256')?.trim() !== claims.checksum.value) {
      throw forbidden('The x-amz-checksum-sha256 header differs from the signed one.', 'wrong-checksum-header');
    }
    expected.sha256 = claims.checksum.value;
  }
  return expected;
}

async function claimMarker(marker: string): Promise<void> {
  try {
    await writeFile(marker, '', { flag: 'wx' });
  } catch (error) {
    if (isErrno(error, 'EEXIST')) throw tokenUsed();
    throw storageError(error, 'recording a used upload URL');
  }
}

function errorResponse(error: DropgateError, headers: Record<string, string> = {}): GatewayResponse {
  // S3 answers a failed If-None-Match with 412; clients that know S3 look for it.
  const status = error.details.reason === 'object-exists' ? 412 : error.status;
  return json(status, error.toBody(), headers);
}

function forbidden(message: string, reason: string): DropgateError {
  return new DropgateError('FORBIDDEN', message, { reason });
}

function tokenUsed(): DropgateError {
  return forbidden('This upload URL was already used; ask for a new one.', 'token-used');
}

function objectExists(): DropgateError {
  return new DropgateError('FORBIDDEN', 'An object already exists at this key and the URL forbids replacing it.', {
    reason: 'object-exists',
  });
}
