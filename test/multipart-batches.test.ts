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
