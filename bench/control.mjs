/**
 * control: CPU time per call of the gateway's own S3 calls (process.cpuUsage, user + system, of
 * this process), sequential as one upload makes them, against Ceph RGW (/tmp/dropgate-rgw/env):
 * dropgate's control plane (dist/storage/s3-control.js through the s3 store: the SigV4 signer over
 * node:http) against the same call through the AWS SDK's S3Client, set up as the store sets up
 * `client` (how the gateway made these calls before). Runs interleaved, contender by contender.
 *   head       HEAD of a 1 KiB object
 *   listParts  ListParts of a 4-part multipart upload
 *   readRange  GET of bytes 0-63
 *   cycle      CreateMultipartUpload → CompleteMultipartUpload → DeleteObject, per call (the part
 *              between is PUT through its presigned URL, outside the measurement)
 * The SDK side of `cycle` is its three calls alone; the store used to HEAD after each complete
 * too (RGW answers an empty ETag), which this leaves out in the SDK's favour.
 * Without `tcp_nodelay=1` on RGW's beast frontend (scripts/rgw.sh sets it) every answer with a
 * body (listParts, readRange, complete) arrived ~44 ms late: beast sends headers and body in two
 * writes, and with Nagle on the second waited for our delayed ACK. A process idle that long pays
 * some 0.4 ms more CPU on waking, and so does the SDK; the wall time per call is printed so that
 * such a stall shows.
 */
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
} from '@aws-sdk/client-s3';
import { s3FromEnv } from '../dist/storage/s3.js';
import { rgwEnv } from './datapath.mjs';
import { fmt, save, summary } from './stats.mjs';

const PREFIX = `bench/control-${process.pid}`;

/** PUTs `bytes` through a presigned request; the answer's ETag. */
async function put(presigned, bytes) {
  const response = await fetch(presigned.url, { method: 'PUT', headers: presigned.headers, body: bytes });
  if (!response.ok) throw new Error(`PUT ${response.status}: ${await response.text()}`);
  return response.headers.get('etag');
}

const uploadPart = (storage, key, multipartId, partNumber) =>
  put(storage.presignPart({ key, multipartId, partNumber, size: 1, expiresIn: 600 }), new Uint8Array([partNumber]));

/** The four operations, for one contender: each `(n) => CPU µs per call over n calls`. */
function operations(storage, calls) {
  const object = `${PREFIX}/object.bin`;
  const parted = `${PREFIX}/parted.bin`;
  let multipartId;
  let cycles = 0;
  /** Wall milliseconds per call of the last measurement. */
  let wallMs = 0;
  /** CPU µs spent in `fn` alone. */
  const cpuOf = async (fn) => {
    const from = process.cpuUsage();
    const out = await fn();
    const { user, system } = process.cpuUsage(from);
    return { out, us: user + system };
  };
  const repeat = async (n, fn) => {
    const from = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < n; i++) await fn();
    const { user, system } = process.cpuUsage(from);
    wallMs = (performance.now() - start) / n;
    return (user + system) / n;
  };
  const cycle = async (n) => {
    let us = 0;
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      const key = `${PREFIX}/cycle-${cycles++}.bin`;
      const created = await cpuOf(() => calls.create(key));
      const etag = await uploadPart(storage, key, created.out, 1);
      us += created.us + (await cpuOf(() => calls.complete(key, created.out, etag))).us + (await cpuOf(() => calls.remove(key))).us;
    }
    // The part PUT counts in the wall time, not in the CPU time.
    wallMs = (performance.now() - start) / (3 * n);
    return us / (3 * n);
  };
  return {
    wallMs: () => wallMs,
    async setup() {
      await put(storage.presignPut({ key: object, size: 1024, contentType: 'video/mp4', expiresIn: 600 }), new Uint8Array(1024));
      ({ multipartId } = await storage.createMultipart(parted, 'video/mp4'));
      for (let p = 1; p <= 4; p++) await uploadPart(storage, parted, multipartId, p);
      if ((await calls.listParts(parted, multipartId)) !== 4) throw new Error('ListParts did not list 4 parts');
      if ((await calls.readRange(object)) !== 64) throw new Error('the ranged read did not read 64 bytes');
    },
    ops: {
      head: (n) => repeat(n, () => calls.head(object)),
      listParts: (n) => repeat(n, () => calls.listParts(parted, multipartId)),
      readRange: (n) => repeat(n, () => calls.readRange(object)),
      cycle: (n) => cycle(Math.max(1, Math.round(n / 3))),
    },
    teardown: async () => {
      await storage.abortMultipart(parted, multipartId);
      await storage.delete(object);
    },
  };
}

function contenders() {
  const storage = s3FromEnv(rgwEnv());
  const sdk = storage.client;
  const Bucket = storage.bucket;
  const dropgate = {
    head: (key) => storage.head(key),
    listParts: async (key, id) => (await storage.listParts(key, id)).length,
    readRange: async (key) => (await storage.readRange(key, 0, 63)).length,
    create: async (key) => (await storage.createMultipart(key, 'video/mp4')).multipartId,
    complete: (key, id, etag) => storage.completeMultipart(key, id, [{ partNumber: 1, etag }]),
    remove: (key) => storage.delete(key),
  };
  const awsSdk = {
    head: (Key) => sdk.send(new HeadObjectCommand({ Bucket, Key })),
    listParts: async (Key, UploadId) => (await sdk.send(new ListPartsCommand({ Bucket, Key, UploadId }))).Parts.length,
    readRange: async (Key) => {
      const out = await sdk.send(new GetObjectCommand({ Bucket, Key, Range: 'bytes=0-63' }));
      return (await out.Body.transformToByteArray()).length;
    },
    create: async (Key) => (await sdk.send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType: 'video/mp4' }))).UploadId,
    complete: (Key, UploadId, ETag) =>
      sdk.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] } })),
    remove: (Key) => sdk.send(new DeleteObjectCommand({ Bucket, Key })),
  };
  return [
    { name: 'dropgate', ...operations(storage, dropgate) },
    { name: 'aws-sdk', ...operations(storage, awsSdk) },
  ];
}

export async function run(flags) {
  const list = contenders();
  const names = Object.keys(list[0].ops);
  console.log(`control: ${flags.runs} runs × ${flags.calls} sequential calls per operation and contender, interleaved, on RGW`);
  try {
    for (const c of list) await c.setup();
    for (const c of list) for (const op of names) await c.ops[op](Math.min(50, flags.calls)); // warm-up (JIT, sockets)
    const perOp = () => Object.fromEntries(list.map((c) => [c.name, Object.fromEntries(names.map((op) => [op, []]))]));
    const [samples, walls] = [perOp(), perOp()];
    for (let r = 0; r < flags.runs; r++) {
      for (const op of names) {
        for (const c of list) {
          samples[c.name][op].push(await c.ops[op](flags.calls));
          walls[c.name][op].push(c.wallMs());
        }
      }
    }
    const results = {};
    const wall = {};
    for (const c of list) {
      results[c.name] = Object.fromEntries(names.map((op) => [op, summary(samples[c.name][op])]));
      wall[c.name] = Object.fromEntries(names.map((op) => [op, summary(walls[c.name][op]).median]));
    }
    for (const op of names) {
      const line = list.map(({ name }) => {
        const s = results[name][op];
        return `${name} ${fmt(s.median).padStart(6)} µs (${fmt(s.min)}–${fmt(s.max)}), wall ${fmt(wall[name][op])} ms`;
      });
      console.log(`${op.padEnd(10)} CPU per call: ${line.join('   ')}`);
    }
    const ratios = Object.fromEntries(
      // The SDK's CPU ÷ ours: higher is better, as for every RATIO.
      names.map((op) => [`control-${op.toLowerCase()}-cpu-vs-sdk`, results['aws-sdk'][op].median / results.dropgate[op].median]),
    );
    save('control', { flags, results, wallMsPerCall: wall, ratios });
    const cpu = (op) => results.dropgate[op].median;
    const under = (limit) => names.filter((op) => cpu(op) <= limit).join(', ') || 'none';
    console.log(`bars: under 1 ms CPU per call: ${under(1000)}; well under (≤ 500 µs): ${under(500)}`);
    for (const [name, v] of Object.entries(ratios)) console.log(`RATIO ${name} ${v.toFixed(3)}`);
    for (const c of list) {
      for (const op of names) console.log(`VALUE control-${op.toLowerCase()}-${c.name} ${Math.round(results[c.name][op].median)} µs`);
    }
  } finally {
    for (const c of list) await c.teardown();
  }
}
