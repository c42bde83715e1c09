/**
 * How many calls a multipart upload makes for its part URLs. The sign call carries the first
 * batch (`concurrency` parts, hashed before it when the hasher is node:crypto's) and its answer
 * their URLs. After that a parts call
 * waits for the MD5s of one batch; parts behind it whose MD5 is already known ride along, up to
 * four batches, and without MD5s every waiting part does. Each call is a request the server pays for.
 */
import { openAsBlob } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FetchLike, PartHasher } from '../src/client/index.js';
import { createClient, md5Base64 } from '../src/client/index.js';
import { createPartSigner } from '../src/client/multipart-signer.js';
import { hashFirstParts } from '../src/client/upload-session.js';
import { partSizeFor } from '../src/shared/parts.js';
import { MiB } from '../src/shared/sizes.js';
import { type ProxiedStack, sha256OfUrl, startProxiedStack, writeMp4 } from './helpers/proxied-stack.js';

let s: ProxiedStack;
let dir: string;
let source: { path: string; sha256: string };
const SIZE = 112 * MiB + 5; // 8 parts of 16 MiB, the last 5 bytes

beforeAll(async () => {
  s = await startProxiedStack();
  dir = await mkdtemp(join(tmpdir(), 'dropgate-batches-'));
  source = await writeMp4(dir, 'clip.mp4', SIZE);
});
afterEach(() => s.proxy.rule(undefined));
afterAll(async () => {
  await s?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

type Wanted = { partNumber: number; md5?: string }[];

/**
 * Uploads the file with concurrency 2; returns the parts the sign call asked URLs for and the part
 * numbers each parts call asked for.
 */
async function partCalls(hashPart: PartHasher | false): Promise<{ sign: Wanted | undefined; calls: number[][] }> {
  const calls: number[][] = [];
  let sign: Wanted | undefined;
  const recording: FetchLike = (input, init) => {
    const url = String(input);
    const parts = () => (JSON.parse(String(init?.body)) as { parts?: Wanted }).parts;
    if (url.endsWith('/parts')) calls.push((parts() ?? []).map((p) => p.partNumber));
    else if (url === s.endpoint && init?.method === 'POST') sign = parts();
    return fetch(input, init);
  };
  const client = createClient({ endpoint: s.endpoint, multipartThreshold: 20 * MiB, concurrency: 2, fetch: recording, hashPart });
  const file = await client.upload(await openAsBlob(source.path, { type: 'video/mp4' }));
  expect(await sha256OfUrl(file.url)).toBe(source.sha256);
  return { sign, calls };
}

async function partMd5(partNumber: number): Promise<string> {
  const blob = await openAsBlob(source.path);
  return md5Base64(blob.slice((partNumber - 1) * 16 * MiB, partNumber * 16 * MiB));
}

describe('part URLs per call', () => {
  it('without MD5s, the sign call takes the first batch and one parts call every other part', async () => {
    expect(await partCalls(false)).toEqual({ sign: [{ partNumber: 1 }, { partNumber: 2 }], calls: [[3, 4, 5, 6, 7, 8]] });
  });

  it('the sign call carries the first batch with its MD5s; parts already hashed ride along with the next batch', async () => {
    // The first two parts go up slowly, so every later part is hashed before part 3 needs a URL.
    s.proxy.rule((req) => (req.partNumber !== undefined && req.partNumber <= 2 ? { kind: 'stall', afterBytes: MiB, ms: 1500 } : undefined));
    const { sign, calls } = await partCalls(md5Base64);
    expect(sign).toEqual([
      { partNumber: 1, md5: await partMd5(1) },
      { partNumber: 2, md5: await partMd5(2) },
    ]);
    expect(calls).toEqual([[3, 4, 5, 6, 7, 8]]);
  });

  it('with a hasher of its own the sign goes first; a part not hashed yet holds no batch up', async () => {
    // A hasher that is not node:crypto may be slow, and a refused file would wait for it: the sign
    // call carries no parts. Parts are hashed in order, one at a time: from the fifth on, each takes 2 s.
    let hashes = 0;
    const slowFromFifth: PartHasher = async (part) => {
      hashes += 1;
      if (hashes >= 5) await new Promise((resolve) => setTimeout(resolve, 2000));
      return md5Base64(part);
    };
    const { sign, calls } = await partCalls(slowFromFifth);
    expect(sign).toBeUndefined();
    expect(calls[0]).toEqual([1, 2]);
    expect(calls[1]).toEqual([3, 4]);
    expect(calls.flat().sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe('hashing ahead, a lane-full at a time', () => {
  /** A hasher of `lanes` lanes (node:crypto inside) that logs the part numbers it is handed. */
  function loggingHasher(blob: Blob, lanes: number) {
    const numbers = new Map<Blob, number>();
    const handed: number[] = [];
    const running = new Set<Promise<string>>();
    const blobOf = (n: number) => {
      const part = blob.slice((n - 1) * 16 * MiB, n * 16 * MiB);
      numbers.set(part, n);
      return part;
    };
    const hasher: PartHasher = Object.assign(
      (part: Blob) => {
        handed.push(numbers.get(part) as number);
        const md5 = md5Base64(part);
        running.add(md5);
        void md5.finally(() => running.delete(md5));
        return md5;
      },
      { lanes },
    );
    /** The parts handed over since the last call, once every hash started has finished. */
    const since = async () => {
      for (;;) {
        await new Promise((resolve) => setImmediate(resolve));
        if (running.size === 0) return handed.splice(0).sort((a, b) => a - b);
        await Promise.all(running);
      }
    };
    return { hasher, blobOf, since };
  }

  it('the part signer starts whole lane-fulls; fewer only for a batch that needs them, or the last parts', async () => {
    const blob = await openAsBlob(source.path, { type: 'video/mp4' });
    const signed = await fetch(s.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ size: SIZE, contentType: 'video/mp4', multipart: true }),
    });
    const { uploadId } = (await signed.json()) as { uploadId: string };
    const { hasher, blobOf, since } = loggingHasher(blob, 2);
    // One part at a time (a batch of one, four parts per call at most), so four parts are hashed ahead.
    const waiting = [2, 3, 4, 5, 6, 7, 8];
    const signer = createPartSigner({
      fetchImpl: fetch,
      endpoint: s.endpoint,
      uploadId,
      batchSize: 1,
      hasher,
      blobOf,
      upcoming: () => [...waiting],
    });
    const signal = new AbortController().signal;
    const takeSlot = async () => {
      await signer.urlFor(waiting.shift() as number, signal);
      return since();
    };
    // Part 1's batch needs its MD5 now: it starts with the four parts ahead of it.
    await signer.urlFor(1, signal);
    expect(await since()).toEqual([1, 2, 3, 4, 5]);
    // Part 6 comes into view alone: it waits for a second part, then both start.
    expect(await takeSlot()).toEqual([]);
    expect(await takeSlot()).toEqual([6, 7]);
    // Part 8 is the last: it starts alone.
    expect(await takeSlot()).toEqual([8]);
    for (const n of [5, 6, 7, 8]) await signer.urlFor(n, signal);
    expect(await since()).toEqual([]);
    await fetch(`${s.endpoint}/${uploadId}`, { method: 'DELETE' });
  });

  it('before the sign call, as many parts as the hasher has lanes are hashed side by side', async () => {
    const blob = await openAsBlob(source.path, { type: 'video/mp4' });
    let inFlight = 0;
    let most = 0;
    const counting: PartHasher = Object.assign(
      async (part: Blob) => {
        most = Math.max(most, ++inFlight);
        try {
          return await md5Base64(part);
        } finally {
          inFlight -= 1;
        }
      },
      { lanes: 5 },
    );
    const first = await hashFirstParts(blob, partSizeFor(SIZE), { count: 2, hasher: counting }, new AbortController().signal);
    expect(first?.wanted).toEqual([
      { partNumber: 1, md5: await partMd5(1) },
      { partNumber: 2, md5: await partMd5(2) },
    ]);
    expect([...(first?.md5s.keys() ?? [])]).toEqual([1, 2, 3, 4, 5]);
    expect(first?.md5s.get(5)).toBe(await partMd5(5));
    expect(most).toBe(5);
  });
});
