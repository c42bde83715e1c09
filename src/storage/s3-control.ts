/**
 * The s3 store's control plane: every call the gateway itself makes to the store (head, ranged
 * read, delete, multipart bookkeeping, an object's grants). Each is one request through
 * s3-http.ts (signed by sigv4.ts, retried with backoff) and its answer read with s3-xml.ts;
 * failures leave as DropgateErrors through s3-errors.ts. Presigned URLs for clients do not come
 * from here (see s3.ts).
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { DropgateError } from '../shared/errors.js';
import { isMissing, s3Error, s3FailureOf } from './s3-errors.js';
import { type S3Http, type S3Request, utf8 } from './s3-http.js';
import { blocksOf, escapeXml, textOf } from './s3-xml.js';
import type { ObjectInfo, StoredPart } from './types.js';

export interface Control {
  http: S3Http;
  bucket: string;
  acl: string | undefined;
  /** Set once a HEAD of the bucket succeeded (see `head`). */
  bucketSeen?: boolean;
}

/** Runs one request; failures come out as DropgateErrors. */
async function call(c: Control, action: string, request: S3Request): Promise<string> {
  try {
    return utf8((await c.http.send(request)).body);
  } catch (error) {
    throw s3Error(error, action);
  }
}

/** Headers a PUT may set on an object besides those its URL signs (see `extraHeadersOf`). */
const EXTRA_HEADERS = [
  'content-disposition',
  'content-encoding',
  'content-language',
  'cache-control',
  'expires',
  'x-amz-website-redirect-location',
];

/**
 * What a presigned PUT's unsigned headers left on the object: SigV4 binds only the headers a URL
 * signs, and S3 stores Content-Disposition, Cache-Control and the like from whoever sends them.
 */
function extraHeadersOf(headers: IncomingHttpHeaders): Record<string, string> {
  const extra: Record<string, string> = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (typeof value !== 'string' || value === '') continue;
    if (EXTRA_HEADERS.includes(name) || name.startsWith('x-amz-meta-')) extra[name] = value;
  }
  return extra;
}

export async function foreignGrants(c: Control, key: string): Promise<string[]> {
  let xml: string;
  try {
    xml = utf8((await c.http.send({ method: 'GET', key, query: { acl: '' }, xmlResult: true })).body);
  } catch (error) {
    // Stores without object ACLs (Cloudflare R2) cannot have been given one by a PUT either.
    if (s3FailureOf(error).code === 'NotImplemented') return [];
    throw s3Error(error, 'reading the grants of an object (the gateway needs s3:GetObjectAcl)');
  }
  const owner = textOf(blocksOf(xml, 'Owner')[0] ?? '', 'ID');
  const grants: string[] = [];
  for (const grant of blocksOf(xml, 'Grant')) {
    const grantee = blocksOf(grant, 'Grantee')[0] ?? '';
    const id = textOf(grantee, 'ID');
    if (id !== undefined && id === owner) continue;
    const who = textOf(grantee, 'URI') ?? id ?? textOf(grantee, 'EmailAddress') ?? '?';
    grants.push(`${textOf(grant, 'Permission') ?? '?'} to ${who}`);
  }
  return grants;
}

export async function head(c: Control, key: string): Promise<ObjectInfo | undefined> {
  try {
    const { headers } = await c.http.send({ method: 'HEAD', key });
    const lastModified = headers['last-modified'];
    return {
      size: Number(headers['content-length'] ?? 0),
      // What S3 itself reports for an object stored without a type.
      contentType: headers['content-type'] ?? 'binary/octet-stream',
      etag: headers.etag ?? '',
      lastModified: lastModified ? new Date(lastModified) : new Date(0),
      extraHeaders: extraHeadersOf(headers),
    };
  } catch (error) {
    if (!isMissing(s3FailureOf(error))) throw s3Error(error, 'looking up an object');
  }
  // A HEAD's 404 has no body, so a missing bucket looks like a missing key. Ask once about the
  // bucket, or a misconfigured gateway would call every upload "not received yet".
  if (!c.bucketSeen) {
    try {
      await c.http.send({ method: 'HEAD' });
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
    return (await c.http.send({ method: 'GET', key, headers: { range: `bytes=${start}-${end}` } })).body;
  } catch (error) {
    // A start past the end: the disk store answers no bytes, so this store does too.
    if (s3FailureOf(error).status === 416) return new Uint8Array(0);
    throw s3Error(error, 'reading an object');
  }
}

export async function remove(c: Control, key: string): Promise<void> {
  await call(c, 'deleting an object', { method: 'DELETE', key });
}

export async function createMultipart(c: Control, key: string, contentType: string): Promise<{ multipartId: string }> {
  const headers: Record<string, string> = { 'content-type': contentType };
  // A signed header, not a query parameter: Ceph RGW ignores x-amz-acl in the query.
  if (c.acl) headers['x-amz-acl'] = c.acl;
  const xml = await call(c, 'starting a multipart upload', {
    method: 'POST',
    key,
    query: { uploads: '' },
    headers,
    unhoistableHeaders: ['x-amz-acl'],
    xmlResult: true,
  });
  const multipartId = textOf(xml, 'UploadId');
  if (!multipartId) throw new DropgateError('STORAGE_UNAVAILABLE', 'The storage started a multipart upload without an id.');
  return { multipartId };
}

export async function listParts(c: Control, key: string, multipartId: string): Promise<StoredPart[]> {
  const parts: StoredPart[] = [];
  let marker: string | undefined;
  // A page holds at most 1000 parts; an upload may have 10,000.
  for (;;) {
    const query: Record<string, string> = { uploadId: multipartId, ...(marker && { 'part-number-marker': marker }) };
    const page = await call(c, 'listing the parts of a multipart upload', { method: 'GET', key, query, xmlResult: true });
    for (const p of blocksOf(page, 'Part')) {
      parts.push({ partNumber: Number(textOf(p, 'PartNumber') ?? 0), size: Number(textOf(p, 'Size') ?? 0), etag: textOf(p, 'ETag') ?? '' });
    }
    const next = textOf(page, 'NextPartNumberMarker');
    if (textOf(page, 'IsTruncated') !== 'true' || !next || next === marker) return parts;
    marker = next;
  }
}

const MD5_ETAG = /^"?([0-9a-fA-F]{32})"?$/;

/**
 * S3's ETag of a multipart object: the MD5 of the parts' binary MD5s, then `-` and the part count.
 * Undefined unless every part's ETag is its MD5 (not so with SSE-KMS, for one).
 */
function multipartEtag(parts: { etag: string }[]): string | undefined {
  const md5 = createHash('md5');
  for (const { etag } of parts) {
    const hex = MD5_ETAG.exec(etag)?.[1];
    if (hex === undefined) return undefined;
    md5.update(Buffer.from(hex, 'hex'));
  }
  return `"${md5.digest('hex')}-${parts.length}"`;
}

export async function completeMultipart(
  c: Control,
  key: string,
  multipartId: string,
  parts: { partNumber: number; etag: string }[],
): Promise<{ etag: string }> {
  const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
  let body = '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">';
  for (const p of sorted) body += `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`;
  body += '</CompleteMultipartUpload>';
  const query = { uploadId: multipartId };
  const xml = await call(c, 'completing a multipart upload', { method: 'POST', key, query, body, xmlResult: true });
  // Ceph RGW 16 answers an empty ETag here; the one S3's rule gives is the one a HEAD shows.
  const etag = textOf(xml, 'ETag') || multipartEtag(sorted);
  if (etag) return { etag };
  const info = await head(c, key);
  if (!info)
    throw new DropgateError('STORAGE_UNAVAILABLE', 'The storage acknowledged a multipart completion but holds no object.', {
      s3Code: 'NoObjectAfterComplete',
    });
  return { etag: info.etag };
}

export async function abortMultipart(c: Control, key: string, multipartId: string): Promise<void> {
  try {
    await c.http.send({ method: 'DELETE', key, query: { uploadId: multipartId } });
  } catch (error) {
    if (isMissing(s3FailureOf(error))) return;
    throw s3Error(error, 'aborting a multipart upload');
  }
}
