/**
 * The s3 store's control plane: every call that the gateway itself makes to the store (head,
 * ranged read, delete, multipart bookkeeping) goes through `@aws-sdk/client-s3`, which parses S3's
 * XML, retries 5xx and SlowDown with backoff, and treats a CompleteMultipartUpload answered "200
 * with an Error body" as the error it is. Presigned URLs do not come from here (see sigv4.ts).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListPartsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DropgateError } from '../shared/errors.js';
import { isMissing, s3Error, s3FailureOf } from './s3-errors.js';
import type { ResolvedS3Options } from './s3-options.js';
import type { ObjectInfo, StoredPart } from './types.js';

/**
 * The SDK client for a store's options. Checksums only WHEN_REQUIRED: the SDK's default since
 * 3.729 adds CRC32 checksums that S3-compatible stores such as Ceph RGW 16 and older MinIO reject.
 * @example
 * const client = createS3Client(resolveS3Options({ bucket, region, credentials }));
 */
export function createS3Client(options: ResolvedS3Options): S3Client {
  const { credentials } = options;
  return new S3Client({
    region: options.region,
    ...(options.endpoint && { endpoint: options.endpoint.origin }),
    forcePathStyle: options.forcePathStyle,
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken && { sessionToken: credentials.sessionToken }),
      ...(credentials.expiration && { expiration: credentials.expiration }),
    },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: options.maxAttempts,
    retryMode: 'standard',
    requestHandler: { connectionTimeout: Math.min(5_000, options.requestTimeoutMs), requestTimeout: options.requestTimeoutMs },
  });
}

export interface Control {
  client: S3Client;
  bucket: string;
  acl: string | undefined;
  /** Set once a HEAD of the bucket succeeded (see `head`). */
  bucketSeen?: boolean;
}

/** Runs one SDK call; failures come out as DropgateErrors. */
async function call<T>(action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw s3Error(error, action);
  }
}

/**
 * What a presigned PUT's unsigned headers left on the object: SigV4 binds only the headers a URL
 * signs, and S3 stores Content-Disposition, Cache-Control and the like from whoever sends them.
 */
function extraHeadersOf(out: HeadObjectCommandOutput): Record<string, string> {
  const extra: Record<string, string | undefined> = {
    'content-disposition': out.ContentDisposition,
    'content-encoding': out.ContentEncoding,
    'content-language': out.ContentLanguage,
    'cache-control': out.CacheControl,
    expires: out.ExpiresString,
    'x-amz-website-redirect-location': out.WebsiteRedirectLocation,
  };
  for (const [name, value] of Object.entries(out.Metadata ?? {})) extra[`x-amz-meta-${name}`] = value;
  return Object.fromEntries(Object.entries(extra).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
}

export async function foreignGrants(c: Control, key: string): Promise<string[]> {
  try {
    const acl = await c.client.send(new GetObjectAclCommand({ Bucket: c.bucket, Key: key }));
    const owner = acl.Owner?.ID;
    return (acl.Grants ?? [])
      .filter((g) => g.Grantee?.ID === undefined || g.Grantee.ID !== owner)
      .map((g) => `${g.Permission ?? '?'} to ${g.Grantee?.URI ?? g.Grantee?.ID ?? g.Grantee?.EmailAddress ?? '?'}`);
  } catch (error) {
    // Stores without object ACLs (Cloudflare R2) cannot have been given one by a PUT either.
    if (s3FailureOf(error).code === 'NotImplemented') return [];
    throw s3Error(error, 'reading the grants of an object (the gateway needs s3:GetObjectAcl)');
  }
}

export async function head(c: Control, key: string): Promise<ObjectInfo | undefined> {
  try {
    const out = await c.client.send(new HeadObjectCommand({ Bucket: c.bucket, Key: key }));
    return {
      size: out.ContentLength ?? 0,
      // What S3 itself reports for an object stored without a type.
      contentType: out.ContentType ?? 'binary/octet-stream',
      etag: out.ETag ?? '',
      lastModified: out.LastModified ?? new Date(0),
      extraHeaders: extraHeadersOf(out),
    };
  } catch (error) {
    if (!isMissing(s3FailureOf(error))) throw s3Error(error, 'looking up an object');
  }
  // A HEAD's 404 has no body, so a missing bucket looks like a missing key. Ask once about the
  // bucket, or a misconfigured gateway would call every upload "not received yet".
  if (!c.bucketSeen) {
    try {
      await c.client.send(new HeadBucketCommand({ Bucket: c.bucket }));
      c.bucketSeen = true;
    } catch (error) {
      if (s3FailureOf(error).status !== 404) throw s3Error(error, `looking up bucket ${c.bucket}`);
      throw new DropgateError(
        'STORAGE_UNAVAILABLE',
        `The bucket ${c.bucket} does not exist.`,
        { s3Code: 'NoSuchBucket', s3Status: 404 },
        { cause: error },
      );
    }
  }
  return undefined;
}

export async function readRange(c: Control, key: string, start: number, end: number): Promise<Uint8Array> {
  try {
    const out = await c.client.send(new GetObjectCommand({ Bucket: c.bucket, Key: key, Range: `bytes=${start}-${end}` }));
    return out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
  } catch (error) {
    // A start past the end: the disk store answers no bytes, so this store does too.
    if (s3FailureOf(error).status === 416) return new Uint8Array(0);
    throw s3Error(error, 'reading an object');
  }
}

export async function remove(c: Control, key: string): Promise<void> {
  await call('deleting an object', () => c.client.send(new DeleteObjectCommand({ Bucket: c.bucket, Key: key })));
}

export async function createMultipart(c: Control, key: string, contentType: string): Promise<{ multipartId: string }> {
  const out = await call('starting a multipart upload', () =>
    c.client.send(
      new CreateMultipartUploadCommand({
        Bucket: c.bucket,
        Key: key,
        ContentType: contentType,
        ...(c.acl && { ACL: c.acl as never }),
      }),
    ),
  );
  if (!out.UploadId) throw new DropgateError('STORAGE_UNAVAILABLE', 'The storage started a multipart upload without an id.');
  return { multipartId: out.UploadId };
}

export async function listParts(c: Control, key: string, multipartId: string): Promise<StoredPart[]> {
  const parts: StoredPart[] = [];
  let marker: string | undefined;
  // A page holds at most 1000 parts; an upload may have 10,000.
  for (;;) {
    const page = await call('listing the parts of a multipart upload', () =>
      c.client.send(
        new ListPartsCommand({ Bucket: c.bucket, Key: key, UploadId: multipartId, ...(marker && { PartNumberMarker: marker }) }),
      ),
    );
    for (const p of page.Parts ?? []) parts.push({ partNumber: p.PartNumber ?? 0, size: p.Size ?? 0, etag: p.ETag ?? '' });
    if (!page.IsTruncated || !page.NextPartNumberMarker || page.NextPartNumberMarker === marker) return parts;
    marker = page.NextPartNumberMarker;
  }
}

export async function completeMultipart(
  c: Control,
  key: string,
  multipartId: string,
  parts: { partNumber: number; etag: string }[],
): Promise<{ etag: string }> {
  const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber).map((p) => ({ PartNumber: p.partNumber, ETag: p.etag }));
  const out = await call('completing a multipart upload', () =>
    c.client.send(
      new CompleteMultipartUploadCommand({ Bucket: c.bucket, Key: key, UploadId: multipartId, MultipartUpload: { Parts: sorted } }),
    ),
  );
  if (out.ETag) return { etag: out.ETag };
  // Ceph RGW 16 answers an empty ETag here; a HEAD shows the real one. No object means the answer
  // was an error the SDK did not spot (it looks for "</Error>" in the last 16 bytes only).
  const info = await head(c, key);
  if (!info)
    throw new DropgateError('STORAGE_UNAVAILABLE', 'The storage acknowledged a multipart completion but holds no object.', {
      s3Code: 'NoObjectAfterComplete',
    });
  return { etag: info.etag };
}

export async function abortMultipart(c: Control, key: string, multipartId: string): Promise<void> {
  try {
    await c.client.send(new AbortMultipartUploadCommand({ Bucket: c.bucket, Key: key, UploadId: multipartId }));
  } catch (error) {
    if (isMissing(s3FailureOf(error))) return;
    throw s3Error(error, 'aborting a multipart upload');
  }
}
