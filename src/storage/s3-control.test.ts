/**
 * What the control plane makes of answers Ceph RGW does not give here: a ListParts that takes
 * more than one page, CompleteMultipartUpload answers with and without an ETag, the body it sends.
 * Against a loopback server; the same calls against RGW are in s3.test.ts and test/s3-*.test.ts.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useLoopbackServer } from '../../test/helpers/loopback-server.js';
import { type Control, completeMultipart, listParts } from './s3-control.js';
import { createS3Http } from './s3-http.js';

interface Seen {
  method: string;
  query: URLSearchParams;
  body: string;
}

describe('s3-control', () => {
  const wire = useLoopbackServer('dropgate-s3-control-');
  let control: Control;
  const answers: ((seen: Seen) => { status?: number; body?: string; headers?: Record<string, string> })[] = [];
  const seen: Seen[] = [];
  const read = async (req: IncomingMessage) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    return body;
  };
  beforeAll(() => {
    wire.respond = async (req, res) => {
      const s = { method: req.method ?? '', query: new URL(req.url ?? '', 'http://x').searchParams, body: await read(req) };
      seen.push(s);
      const answer = answers.shift()?.(s) ?? { status: 500 };
      res.writeHead(answer.status ?? 200, answer.headers ?? {}).end(answer.body ?? '');
    };
    const options = { credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, region: 'us-east-1' };
    control = {
      http: createS3Http({ ...options, maxAttempts: 1, requestTimeoutMs: 5_000 }, `${wire.base}/bucket`),
      bucket: 'bucket',
      acl: undefined,
    };
  });
  afterEach(() => {
    answers.length = 0;
    seen.length = 0;
  });

  const part = (n: number) => `<Part><PartNumber>${n}</PartNumber><ETag>&quot;e${n}&quot;</ETag><Size>${n * 10}</Size></Part>`;

  it('lists the parts page after page, from each NextPartNumberMarker', async () => {
    answers.push(
      () => ({
        body: `<ListPartsResult><IsTruncated>true</IsTruncated><NextPartNumberMarker>2</NextPartNumberMarker>${part(1)}${part(2)}</ListPartsResult>`,
      }),
      () => ({ body: `<ListPartsResult><IsTruncated>false</IsTruncated>${part(3)}</ListPartsResult>` }),
    );
    expect(await listParts(control, 'k', 'up/1')).toEqual([
      { partNumber: 1, size: 10, etag: '"e1"' },
      { partNumber: 2, size: 20, etag: '"e2"' },
      { partNumber: 3, size: 30, etag: '"e3"' },
    ]);
    expect(seen.map((s) => [s.query.get('uploadId'), s.query.get('part-number-marker')])).toEqual([
      ['up/1', null],
      ['up/1', '2'],
    ]);
  });

  it('sends the parts sorted and escaped, and takes the ETag the answer gives', async () => {
    answers.push(() => ({ body: '<CompleteMultipartUploadResult><ETag>&quot;abc-2&quot;</ETag></CompleteMultipartUploadResult>' }));
    const parts = [
      { partNumber: 2, etag: '"b"' },
      { partNumber: 1, etag: '"a&<"' },
    ];
    expect(await completeMultipart(control, 'k', 'u', parts)).toEqual({ etag: '"abc-2"' });
    expect(seen[0]?.method).toBe('POST');
    expect(seen[0]?.body).toBe(
      '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        '<Part><PartNumber>1</PartNumber><ETag>&quot;a&amp;&lt;&quot;</ETag></Part>' +
        '<Part><PartNumber>2</PartNumber><ETag>&quot;b&quot;</ETag></Part></CompleteMultipartUpload>',
    );
  });

  it('computes S3’s multipart ETag when the answer has none (Ceph RGW 16), else asks a HEAD', async () => {
    const md5s = ['0123456789abcdef0123456789abcdef', 'fedcba9876543210fedcba9876543210'];
    const expected = createHash('md5')
      .update(Buffer.concat(md5s.map((m) => Buffer.from(m, 'hex'))))
      .digest('hex');
    answers.push(() => ({ body: '<CompleteMultipartUploadResult><ETag></ETag></CompleteMultipartUploadResult>' }));
    // Given out of order: the ETag is of the parts in order.
    const parts = [
      { partNumber: 2, etag: `"${md5s[1]}"` },
      { partNumber: 1, etag: md5s[0] ?? '' },
    ];
    expect(await completeMultipart(control, 'k', 'u', parts)).toEqual({ etag: `"${expected}-2"` });
    expect(seen.map((s) => s.method)).toEqual(['POST']);

    answers.push(
      () => ({ body: '<CompleteMultipartUploadResult><ETag></ETag></CompleteMultipartUploadResult>' }),
      () => ({ headers: { etag: '"from-head-1"', 'content-length': '5' } }),
    );
    expect(await completeMultipart(control, 'k', 'u', [{ partNumber: 1, etag: '"not-an-md5"' }])).toEqual({ etag: '"from-head-1"' });
    expect(seen.map((s) => s.method)).toEqual(['POST', 'POST', 'HEAD']);
  });
});
