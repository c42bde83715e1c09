/**
 * The s3 store: any S3-compatible bucket (AWS S3, Cloudflare R2, MinIO, Ceph RGW, …). Presigned
 * URLs come from dropgate's own SigV4 presigner (sigv4.ts: local, ~3 µs each, binding method, key,
 * exact length, type and MD5); the gateway's own calls (s3-control.ts) are requests signed by the
 * same signer and sent over node:http(s) (s3-http.ts). `client`, an AWS SDK client, is there for
 * bucket setup by the CLI and is built only when first used.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { DropgateError } from '../shared/errors.js';
import { MAX_PART_SIZE, MAX_PARTS, MAX_SINGLE_PUT } from '../shared/parts.js';
import { ChecksumSchema, parseWith } from '../shared/protocol.js';
import { contentDisposition } from '../shared/types.js';
import * as control from './s3-control.js';
import { createS3Http } from './s3-http.js';
import { resolveS3Options, type S3StorageOptions, s3OptionsFromEnv } from './s3-options.js';
import { createS3Client } from './s3-sdk.js';
import { createPresigner, encodeKey, type PresignedUrl } from './sigv4.js';
import { checkContentType, checkExpiresIn, checkSize } from './target-checks.js';
import type { GetOptions, PartTarget, PresignedRequest, PutTarget, Storage } from './types.js';

export type { S3Credentials, S3StorageOptions } from './s3-options.js';

export interface S3Storage extends Storage {
  readonly kind: 's3';
  readonly bucket: string;
  /** An AWS SDK client for the store, for bucket setup (`dropgate s3 cors`, `doctor`); built on first use. */
  readonly client: S3Client;
  /** `{endpoint}/{bucket}` or `https://{bucket}.{host}`: what object keys are appended to. */
  readonly bucketUrl: string;
}

const UNHOISTABLE = ['x-amz-acl', 'x-amz-checksum-sha256'];

/**
 * The s3 store.
 * @example
 * const storage = createS3Storage({
 *   bucket: 'my-uploads',
 *   region: 'eu-west-1',
 *   credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID!, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY! },
 * });
 * const put = storage.presignPut({ key: 'uploads/a.mp4', size: 1234, contentType: 'video/mp4', expiresIn: 600 });
 * // put.url: https://my-uploads.s3.eu-west-1.amazonaws.com/uploads/a.mp4?X-Amz-Algorithm=…; put.headers: { 'content-type': 'video/mp4' }
 */
export function createS3Storage(options: S3StorageOptions): S3Storage {
  const o = resolveS3Options(options);
  const presigner = createPresigner({ credentials: o.credentials, region: o.region });
  const bucketUrl = o.forcePathStyle
    ? `${(o.endpoint ?? new URL(`https://s3.${o.region}.amazonaws.com`)).origin}/${o.bucket}`
    : `${o.endpoint?.protocol ?? 'https:'}//${o.bucket}.${o.endpoint?.host ?? `s3.${o.region}.amazonaws.com`}`;
  const c: control.Control = { http: createS3Http(o, bucketUrl), bucket: o.bucket, acl: o.acl };
  let client: S3Client | undefined;

  const sign = (
    method: 'PUT' | 'GET',
    key: string,
    headers: Record<string, string> | undefined,
    query: Record<string, string> | undefined,
    expiresIn: number,
  ): PresignedRequest => {
    checkKey(key);
    checkExpiresIn(expiresIn);
    let signed: PresignedUrl;
    try {
      // Sent as headers, not hoisted into the query: Ceph RGW ignores an x-amz-acl query parameter
      // (the object stays private), and not every store checks a checksum given in the query.
      signed = presigner.presignRequest({
        method,
        url: bucketUrl,
        key,
        query,
        headers,
        expiresIn,
        now: o.now(),
        unhoistableHeaders: UNHOISTABLE,
      });
    } catch (error) {
      if (error instanceof DropgateError) throw error;
      throw new DropgateError('INVALID_REQUEST', `Cannot sign this request: ${(error as Error).message}`, {}, { cause: error });
    }
    // Browsers set Content-Length themselves and refuse a script that tries; it is signed all the
    // same. (A loop, not `{ 'content-length': _, ...rest }`: that rest pattern takes V8's slow path.)
    const send: Record<string, string> = {};
    for (const name in signed.headers) if (name !== 'content-length') send[name] = signed.headers[name]!;
    return { url: signed.url, method, headers: send, expiresAt: signed.expiresAt };
  };

  return {
    kind: 's3',
    bucket: o.bucket,
    get client() {
      client ??= createS3Client(o);
      return client;
    },
    bucketUrl,
    capabilities: { conditionalWrite: o.conditionalWrite, maxSinglePutBytes: MAX_SINGLE_PUT },

    presignPut(target: PutTarget): PresignedRequest {
      checkSize(target.size, MAX_SINGLE_PUT);
      checkContentType(target.contentType);
      const checksum = target.checksum && parseWith(ChecksumSchema, target.checksum, 'checksum');
      const headers: Record<string, string> = { 'content-type': target.contentType, 'content-length': String(target.size) };
      if (checksum?.algorithm === 'md5') headers['content-md5'] = checksum.value;
      if (checksum?.algorithm === 'sha256') headers['x-amz-checksum-sha256'] = checksum.value;
      if (target.ifNoneMatch && o.conditionalWrite) headers['if-none-match'] = '*';
      if (o.acl) headers['x-amz-acl'] = o.acl;
      return sign('PUT', target.key, headers, undefined, target.expiresIn);
    },

    presignPart(target: PartTarget): PresignedRequest {
      checkSize(target.size, MAX_PART_SIZE);
      if (!Number.isInteger(target.partNumber) || target.partNumber < 1 || target.partNumber > MAX_PARTS) {
        throw new DropgateError('INVALID_REQUEST', `Part numbers run from 1 to ${MAX_PARTS}, got ${target.partNumber}.`, {
          field: 'partNumber',
        });
      }
      if (typeof target.multipartId !== 'string' || target.multipartId === '') {
        throw new DropgateError('INVALID_REQUEST', 'A part needs the multipart upload id.', { field: 'multipartId' });
      }
      const headers: Record<string, string> = { 'content-length': String(target.size) };
      if (target.md5 !== undefined)
        headers['content-md5'] = parseWith(ChecksumSchema, { algorithm: 'md5', value: target.md5 }, 'part MD5').value;
      const query = { partNumber: String(target.partNumber), uploadId: target.multipartId };
      return sign('PUT', target.key, headers, query, target.expiresIn);
    },

    presignGet(key: string, get: GetOptions): PresignedRequest {
      const query = get.fileName === undefined ? undefined : { 'response-content-disposition': contentDisposition(get.fileName) };
      return sign('GET', key, undefined, query, get.expiresIn);
    },

    publicUrl(key: string): string | undefined {
      if (!o.publicBaseUrl) return undefined;
      checkKey(key);
      return `${o.publicBaseUrl}/${encodeKey(key)}`;
    },

    head: (key) => control.head(c, checkKey(key)),
    // With a canned ACL signed into every PUT, S3 refuses any x-amz-grant-* next to it; only without one can a PUT add grants.
    ...(!o.acl && { foreignGrants: (key: string) => control.foreignGrants(c, checkKey(key)) }),
    readRange(key, start, end) {
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
        throw new DropgateError('INVALID_REQUEST', `Cannot read bytes ${start}..${end}.`, { field: 'range' });
      }
      return control.readRange(c, checkKey(key), start, end);
    },
    delete: (key) => control.remove(c, checkKey(key)),
    createMultipart(key, contentType) {
      checkContentType(contentType);
      return control.createMultipart(c, checkKey(key), contentType);
    },
    listParts: (key, multipartId) => control.listParts(c, checkKey(key), multipartId),
    completeMultipart: (key, multipartId, parts) => control.completeMultipart(c, checkKey(key), multipartId, parts),
    abortMultipart: (key, multipartId) => control.abortMultipart(c, checkKey(key), multipartId),
  };
}

/**
 * The s3 store from S3_* and AWS_* variables (see `s3OptionsFromEnv`).
 * @example
 * const storage = s3FromEnv(process.env);
 */
export function s3FromEnv(env: Record<string, string | undefined>, extra: Partial<S3StorageOptions> = {}): S3Storage {
  return createS3Storage({ ...s3OptionsFromEnv(env), ...extra });
}

/**
 * S3 takes any UTF-8 key up to 1024 bytes, but a `.` or `..` segment would be resolved away by
 * browsers before the request is sent, so the signed path and the sent path would differ.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const CONTROL = /[\x00-\x1f\x7f]/;
/** A `.` or `..` segment. */
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

function checkKey(key: string): string {
  const bytes = typeof key === 'string' ? Buffer.byteLength(key) : 0;
  if (bytes === 0 || bytes > 1024 || CONTROL.test(key) || DOT_SEGMENT.test(key)) {
    throw new DropgateError('INVALID_REQUEST', `${JSON.stringify(key)} is not a usable object key.`, { field: 'key' });
  }
  return key;
}
