/**
 * presign: URLs per second on one core (one process, one thread, sequential calls as a server
 * makes them) for a PutObject URL signing content-type and content-length, from dropgate's signer,
 * the AWS SDK's getSignedUrl (set up as in sigv4-oracle.test.ts), @smithy/signature-v4, aws4fetch,
 * minio's presignedPutObject, and the floor: one HMAC-SHA256 + one SHA-256 of strings the sizes
 * of our string-to-sign and canonical request. Runs are interleaved (round-robin) so every
 * contender sees the same background load. The endpoint is 127.0.0.1:1 (nothing listens there):
 * a contender that did network I/O would fail, not run.
 */
import { createHash, createHmac, createSecretKey } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { SignatureV4 } from '@smithy/signature-v4';
import { AwsClient } from 'aws4fetch';
import * as Minio from 'minio';
import { createPresigner } from '../dist/storage/sigv4.js';
import { fmt, save, summary } from './stats.mjs';

const REGION = 'us-east-1';
const BUCKET = 'dropgate-bench';
const HOST = '127.0.0.1:1';
const credentials = { accessKeyId: 'AKIABENCHMARK0000001', secretAccessKey: 'benchmark-secret-key-0123456789abcdefghij' };
const TYPE = 'video/mp4';
const SIZE = 104_857_600;
const EXPIRES = 600;
let n = 0;
const nextKey = () => `uploads/user-42/${(n++).toString(36)}-clip.mp4`;

/** node:crypto behind the Sha256 interface @smithy/signature-v4 asks for (what @smithy/hash-node does). */
class NodeSha256 {
  constructor(secret) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  }
  update(data) {
    this.h.update(data);
  }
  digest() {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
}

export async function contenders() {
  const ours = createPresigner({ credentials, region: REGION });
  const oursPut = () =>
    ours.presign({
      method: 'PUT',
      url: `http://${HOST}/${BUCKET}`,
      key: nextKey(),
      headers: { 'content-type': TYPE, 'content-length': String(SIZE) },
      expiresIn: EXPIRES,
    });

  const sdk = new S3Client({
    region: REGION,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    endpoint: `http://${HOST}`,
    forcePathStyle: true,
  });
  const signableHeaders = new Set(['content-type']);
  const sdkPut = () =>
    getSignedUrl(sdk, new PutObjectCommand({ Bucket: BUCKET, Key: nextKey(), ContentType: TYPE, ContentLength: SIZE }), {
      expiresIn: EXPIRES,
      signableHeaders,
    });

  const smithy = new SignatureV4({
    credentials,
    region: REGION,
    service: 's3',
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const smithyPut = async () => {
    const path = `/${BUCKET}/${encodeURIComponent(nextKey()).replace(/%2F/g, '/')}`;
    const req = await smithy.presign(
      {
        method: 'PUT',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 1,
        path,
        query: {},
        headers: { host: HOST, 'content-type': TYPE, 'content-length': String(SIZE) },
      },
      { expiresIn: EXPIRES, unsignableHeaders: new Set() },
    );
    const q = Object.entries(req.query)
      .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
      .join('&');
    return `http://${HOST}${req.path}?${q}`;
  };

  const a4f = new AwsClient({ ...credentials, service: 's3', region: REGION });
  const a4fPut = async () =>
    (
      await a4f.sign(`http://${HOST}/${BUCKET}/${nextKey()}`, {
        method: 'PUT',
        headers: { 'content-type': TYPE, 'content-length': String(SIZE) },
        aws: { signQuery: true, allHeaders: true },
      })
    ).url;

  const minio = new Minio.Client({
    endPoint: '127.0.0.1',
    port: 1,
    useSSL: false,
    accessKey: credentials.accessKeyId,
    secretKey: credentials.secretAccessKey,
    region: REGION,
    pathStyle: true,
  });
  const minioPut = () => minio.presignedPutObject(BUCKET, nextKey(), EXPIRES);

  // The floor: the sizes of one of our URL's canonical request and string to sign.
  const sample = new URL(oursPut());
  const query = sample.search.slice(1).replace(/&X-Amz-Signature=[0-9a-f]+$/, '');
  const canonical = `PUT\n${sample.pathname}\n${query}\ncontent-length:${SIZE}\ncontent-type:${TYPE}\nhost:${HOST}\n\ncontent-length;content-type;host\nUNSIGNED-PAYLOAD`;
  const sts = `AWS4-HMAC-SHA256\n${sample.searchParams.get('X-Amz-Date')}\n20260101/${REGION}/s3/aws4_request\n${'0'.repeat(64)}`;
  // A KeyObject, as our signer caches one: the floor pays no key import per call either.
  const key = createSecretKey(createHmac('sha256', 'k').update('x').digest());
  const floor = () => {
    const h = createHash('sha256').update(canonical).digest('hex');
    return createHmac('sha256', key)
      .update(sts.slice(0, -64) + h)
      .digest('hex');
  };

  return {
    list: [
      { name: 'dropgate', fn: oursPut, sync: true },
      { name: 'aws-sdk', fn: sdkPut },
      { name: 'smithy', fn: smithyPut },
      { name: 'aws4fetch', fn: a4fPut },
      { name: 'minio', fn: minioPut },
      { name: 'floor', fn: floor, sync: true },
    ],
    sizes: { canonicalRequest: canonical.length, stringToSign: sts.length },
  };
}

/** Calls per second of fn during `ms` milliseconds, checked every 64 calls. */
async function rate(c, ms) {
  let calls = 0;
  const start = performance.now();
  const end = start + ms;
  let now = start;
  if (c.sync) {
    while (now < end) {
      for (let i = 0; i < 64; i++) c.fn();
      calls += 64;
      now = performance.now();
    }
  } else {
    while (now < end) {
      for (let i = 0; i < 64; i++) await c.fn();
      calls += 64;
      now = performance.now();
    }
  }
  return (calls * 1000) / (now - start);
}

export async function run(flags) {
  const { list, sizes } = await contenders();
  // Each must produce a usable URL (or, for the floor, a hex signature) before being timed.
  for (const c of list) {
    const out = await c.fn();
    if (c.name !== 'floor' && !/X-Amz-Signature=[0-9a-f]{64}/.test(out)) throw new Error(`${c.name} gave no signed URL: ${out}`);
    if (c.name !== 'floor' && !/X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost/.test(out) && c.name !== 'minio') {
      console.error(`note: ${c.name} signs: ${new URL(out).searchParams.get('X-Amz-SignedHeaders')}`);
    }
  }
  console.log(
    `presign: ${flags.runs} runs × ${flags.ms} ms per contender, interleaved; canonical request ${sizes.canonicalRequest} B, string to sign ${sizes.stringToSign} B`,
  );
  for (const c of list) await rate(c, Math.min(300, flags.ms)); // warm-up (JIT)
  const samples = Object.fromEntries(list.map((c) => [c.name, []]));
  for (let r = 0; r < flags.runs; r++) {
    for (const c of list) samples[c.name].push(await rate(c, flags.ms));
  }
  const results = {};
  for (const c of list) {
    const s = summary(samples[c.name]);
    results[c.name] = s;
    console.log(`${c.name.padEnd(10)} median ${fmt(s.median).padStart(10)} URLs/s   min ${fmt(s.min)}  max ${fmt(s.max)}`);
  }
  const ours = results.dropgate.median;
  const ratios = {
    'presign-vs-aws-sdk': ours / results['aws-sdk'].median,
    'presign-vs-smithy': ours / results.smithy.median,
    'presign-vs-aws4fetch': ours / results.aws4fetch.median,
    'presign-vs-minio': ours / results.minio.median,
    'presign-vs-floor': ours / results.floor.median,
  };
  save('presign', { flags, sizes, results, ratios });
  console.log(
    `bars: ≥ 40× aws-sdk: ${ratios['presign-vs-aws-sdk'] >= 40 ? 'met' : 'MISSED'}; ≤ 2× the floor (ratio ≥ 0.5): ${ratios['presign-vs-floor'] >= 0.5 ? 'met' : 'MISSED'}`,
  );
  for (const [name, v] of Object.entries(ratios)) console.log(`RATIO ${name} ${v.toFixed(3)}`);
  for (const c of list) console.log(`VALUE presign-${c.name} ${Math.round(results[c.name].median)} URLs/s`);
}
