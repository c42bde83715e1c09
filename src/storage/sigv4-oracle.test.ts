/**
 * Independent verifiers of the presigner. First the oracle: for the same request and a frozen clock, our presigner must produce the AWS SDK's
 * URL byte for byte. The SDK client is set up as dropgate would want it: no checksum of an empty
 * body (`requestChecksumCalculation: 'WHEN_REQUIRED'`, and no `x-amz-checksum-mode` on reads),
 * content-type and content-md5 signed (`signableHeaders`).
 *
 * x-id: the SDK adds `x-id=PutObject` (etc.) to every URL; dropgate's URLs do not carry it. Half
 * the keys are compared with the SDK unchanged and `query: {'x-id': …}` on our side, the other half
 * with a middleware that deletes `x-id` from the SDK's request before it is signed and nothing
 * extra on ours. Both must match exactly.
 *
 * The real verifier, Ceph RGW, is in sigv4-rgw.test.ts.
 */

import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type ServerSideEncryption,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { describe, expect, it } from 'vitest';
import { type AwsCredentials, createPresigner, type PresignInput } from './sigv4.js';
import { FIXED_KEYS, int, pick, rand, randomDate, randomKey, randomToken, SEED } from './sigv4-inputs.contract.js';

const KEY_COUNT = Math.max(Number(process.env.SIGV4_ORACLE_KEYS ?? 240), 200);
const BUCKET = 'dropgate-test';

type Style = 'path' | 'virtual';

interface Setup {
  style: Style;
  region: string;
  base: string;
  credentials: AwsCredentials;
}

function setup(style: Style, sessionToken: string | undefined): Setup {
  const credentials = { accessKeyId: `AKIA${randomToken().slice(0, 16)}`, secretAccessKey: randomToken().slice(0, 40), sessionToken };
  return style === 'path'
    ? { style, region: 'us-east-1', base: `http://127.0.0.1:7480/${BUCKET}`, credentials }
    : { style, region: 'eu-west-1', base: `https://${BUCKET}.s3.eu-west-1.amazonaws.com`, credentials };
}

function sdkClient(s: Setup, stripXId: boolean): S3Client {
  const client = new S3Client({
    region: s.region,
    credentials: {
      accessKeyId: s.credentials.accessKeyId,
      secretAccessKey: s.credentials.secretAccessKey,
      ...(s.credentials.sessionToken ? { sessionToken: s.credentials.sessionToken } : {}),
    },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(s.style === 'path' ? { endpoint: 'http://127.0.0.1:7480', forcePathStyle: true } : {}),
  });
  if (stripXId) {
    client.middlewareStack.add(
      (next) => (args) => {
        delete (args.request as { query: Record<string, unknown> }).query['x-id'];
        return next(args);
      },
      { step: 'build', name: 'dropgateStripXId' },
    );
  }
  return client;
}

interface Case {
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's command union is not worth spelling out here
  command: any;
  /** The SDK's `x-id` value for this command, when it adds one (HeadObject has none). */
  xId: string | undefined;
  input: Omit<PresignInput, 'url' | 'key' | 'expiresIn' | 'now'>;
  /** Headers the SDK presigner would otherwise leave unsigned (it never signs content-type by default). */
  signable: string[];
}

function putCase(key: string): Case {
  const length = int(0, 5 * 1024 ** 3);
  const contentType = pick([
    'video/mp4',
    'image/png',
    'application/octet-stream',
    'text/plain; charset=utf-8',
    'text/plain;  charset=utf-8 ',
  ]);
  const md5 = rand() < 0.5 ? Buffer.from(randomToken()).subarray(0, 16).toString('base64') : undefined;
  const ifNoneMatch = rand() < 0.3 ? '*' : undefined;
  const acl = rand() < 0.2 ? 'private' : undefined;
  const meta = rand() < 0.2 ? { note: ` x  y ${int(0, 99)} ` } : undefined;
  const sse: ServerSideEncryption | undefined = rand() < 0.1 ? 'AES256' : undefined;
  const headers: Record<string, string> = { 'content-length': String(length), 'content-type': contentType };
  if (md5) headers['content-md5'] = md5;
  if (ifNoneMatch) headers['if-none-match'] = ifNoneMatch;
  if (acl) headers['x-amz-acl'] = acl;
  if (meta) headers['x-amz-meta-note'] = meta.note;
  if (sse) headers['x-amz-server-side-encryption'] = sse;
  return {
    name: 'PutObject',
    xId: 'PutObject',
    command: new PutObjectCommand({
      Bucket: BUCKET,
      Key: key,
      ContentLength: length,
      ContentType: contentType,
      ContentMD5: md5,
      IfNoneMatch: ifNoneMatch,
      ACL: acl,
      Metadata: meta,
      ServerSideEncryption: sse,
    }),
    input: { method: 'PUT', headers },
    signable: ['content-type', 'content-md5'],
  };
}

function getCase(key: string): Case {
  const disposition = rand() < 0.5 ? `attachment; filename*=UTF-8''${encodeURIComponent(randomKey())}` : undefined;
  return {
    name: 'GetObject',
    xId: 'GetObject',
    command: new GetObjectCommand({ Bucket: BUCKET, Key: key, ResponseContentDisposition: disposition }),
    input: { method: 'GET', query: disposition ? { 'response-content-disposition': disposition } : {} },
    signable: [],
  };
}

function partCase(key: string): Case {
  const partNumber = int(1, 10_000);
  const uploadId = pick([randomToken(), `2~${randomToken()}`, `${randomToken()}.${randomToken()}_-~`]);
  const length = int(5 * 1024 ** 2, 5 * 1024 ** 3);
  const md5 = rand() < 0.5 ? Buffer.from(randomToken()).subarray(0, 16).toString('base64') : undefined;
  const headers: Record<string, string> = { 'content-length': String(length) };
  if (md5) headers['content-md5'] = md5;
  return {
    name: 'UploadPart',
    xId: 'UploadPart',
    command: new UploadPartCommand({
      Bucket: BUCKET,
      Key: key,
      PartNumber: partNumber,
      UploadId: uploadId,
      ContentLength: length,
      ContentMD5: md5,
    }),
    // The SDK gives a part a content-type of application/octet-stream; a browser sends a Blob
    // slice without one, so part URLs do not sign it (the type was set at CreateMultipartUpload).
    input: { method: 'PUT', query: { partNumber: String(partNumber), uploadId }, headers },
    signable: ['content-md5'],
  };
}

function headCase(key: string): Case {
  return {
    name: 'HeadObject',
    xId: undefined,
    command: new HeadObjectCommand({ Bucket: BUCKET, Key: key }),
    input: { method: 'HEAD' },
    signable: [],
  };
}

function deleteCase(key: string): Case {
  return {
    name: 'DeleteObject',
    xId: 'DeleteObject',
    command: new DeleteObjectCommand({ Bucket: BUCKET, Key: key }),
    input: { method: 'DELETE' },
    signable: [],
  };
}

describe('presigner vs the AWS SDK presigner (oracle)', () => {
  const keys = [...FIXED_KEYS];
  while (keys.length < KEY_COUNT) keys.push(randomKey());

  it(`gives the SDK's URL byte for byte for ${KEY_COUNT} keys (PutObject, GetObject, UploadPart, some Head/Delete)`, async () => {
    const mismatches: string[] = [];
    let compared = 0;
    for (const [i, key] of keys.entries()) {
      const s = setup(i % 2 === 0 ? 'path' : 'virtual', rand() < 0.5 ? randomToken() : undefined);
      const stripXId = i % 4 < 2;
      const client = sdkClient(s, stripXId);
      const presigner = createPresigner({ credentials: s.credentials, region: s.region });
      const cases = [putCase(key), getCase(key), partCase(key)];
      if (i % 5 === 0) cases.push(headCase(key), deleteCase(key));
      for (const c of cases) {
        const now = randomDate();
        const expiresIn = int(1, 604_800);
        const signableHeaders = new Set(c.signable);
        const theirs = await getSignedUrl(client, c.command, { signingDate: now, expiresIn, signableHeaders });
        const query = stripXId || c.xId === undefined ? c.input.query : { ...c.input.query, 'x-id': c.xId };
        const ours = presigner.presign({ ...c.input, query, url: s.base, key, expiresIn, now });
        compared++;
        if (ours !== theirs) mismatches.push(`${c.name} ${s.style} key=${JSON.stringify(key)}\n  sdk:  ${theirs}\n  ours: ${ours}`);
      }
    }
    expect(mismatches.slice(0, 3).join('\n'), `seed ${SEED}`).toBe('');
    expect(compared).toBeGreaterThanOrEqual(3 * KEY_COUNT);
  });

  it('a URL differs from the SDK when one signed byte differs (the comparison can fail)', async () => {
    const s = setup('path', undefined);
    const presigner = createPresigner({ credentials: s.credentials, region: s.region });
    const now = new Date('2024-05-01T10:00:00Z');
    const command = new PutObjectCommand({ Bucket: BUCKET, Key: 'a.mp4', ContentLength: 10, ContentType: 'video/mp4' });
    const theirs = await getSignedUrl(sdkClient(s, true), command, {
      signingDate: now,
      expiresIn: 600,
      signableHeaders: new Set(['content-type']),
    });
    const input = { method: 'PUT' as const, url: s.base, key: 'a.mp4', expiresIn: 600, now };
    expect(presigner.presign({ ...input, headers: { 'content-length': '10', 'content-type': 'video/mp4' } })).toBe(theirs);
    expect(presigner.presign({ ...input, headers: { 'content-length': '11', 'content-type': 'video/mp4' } })).not.toBe(theirs);
  });
});
