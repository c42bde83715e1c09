/**
 * The multipart client against the real dev stack (disk store + PGlite) through a fault proxy:
 * cut connections, 503s, a 429 with Retry-After and stalls still end in the exact bytes; a part
 * corrupted on the way is refused by the storage and sent again; a part hashed wrong fails the
 * upload cleanly. Files are ~96 MiB with the threshold lowered to 20 MiB: 7 parts of 16 MiB.
 */
import { openAsBlob } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient, md5Base64, type UploadProgress } from '../src/client/index.js';
import type { FileListResponse, StatusResponse } from '../src/shared/protocol.js';
import { MiB } from '../src/shared/sizes.js';
import type { Exchange, Fault } from './helpers/fault-proxy.js';
import { expectOneFileOneCharge } from './helpers/one-charge.js';
import { type ProxiedStack, sha256OfUrl, startProxiedStack, writeMp4 } from './helpers/proxied-stack.js';

let s: ProxiedStack;
let dir: string;
let source: { path: string; sha256: string };
const SIZE = 96 * MiB + 123;

beforeAll(async () => {
  s = await startProxiedStack();
  dir = await mkdtemp(join(tmpdir(), 'dropgate-faults-'));
  source = await writeMp4(dir, 'clip.mp4', SIZE);
});
afterAll(async () => {
  await s?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});
afterEach(() => s.proxy.rule(undefined));

const blob = () => openAsBlob(source.path, { type: 'video/mp4' });
const client = (options: Parameters<typeof createClient>[0] extends infer O ? Partial<O> : never = {}) =>
  createClient({ endpoint: s.endpoint, multipartThreshold: 20 * MiB, ...options });

/** The part PUTs of one upload (by the storage's multipart id), from the proxy's log. */
function putsOf(multipartId: string | undefined): Exchange[] {
  return s.proxy.log.filter((e) => e.partNumber !== undefined && e.multipartId === multipartId);
}
const attemptsByPart = (puts: Exchange[]): Record<number, number> =>
  Object.fromEntries(
    [...new Set(puts.map((p) => p.partNumber))]
      .sort((a, b) => (a ?? 0) - (b ?? 0))
      .map((n) => [n, puts.filter((p) => p.partNumber === n).length]),
  );

async function allowance() {
  return ((await (await fetch(s.endpoint)).json()) as FileListResponse).allowance;
}

function expectMonotonicToOne(reports: UploadProgress[]) {
  const values = reports.map((r) => r.progress);
  expect(values).toEqual([...values].sort((a, b) => a - b));
  expect(values.filter((v) => v === 1)).toHaveLength(1);
  expect(values.at(-1)).toBe(1);
  expect(reports.at(-1)).toMatchObject({ loadedBytes: SIZE, totalBytes: SIZE });
}

describe('multipart through faults', () => {
  it('completes through cut connections, 503s, a 429 with Retry-After and stalls; the stored bytes are the source', async () => {
    const faults: Record<number, Record<number, Fault>> = {
      2: { 1: { kind: 'cut', afterBytes: 5 * MiB }, 2: { kind: 'cut', afterBytes: 1 } },
      3: { 1: { kind: 'status', status: 503, body: '<Error><Code>SlowDown</Code></Error>' }, 2: { kind: 'status', status: 500 } },
      4: { 1: { kind: 'status', status: 429, headers: { 'retry-after': '1' } } },
      5: { 1: { kind: 'stall', afterBytes: 2 * MiB, ms: 5000 } }, // longer than stallTimeoutMs: cut and retried
      6: { 1: { kind: 'stall', afterBytes: MiB, ms: 400 } }, // shorter: just slower
    };
    s.proxy.rule((req) => {
      if (req.partNumber !== undefined) return faults[req.partNumber]?.[req.attempt];
      if (req.method === 'POST' && req.path.endsWith('/parts') && req.attempt === 1) return { kind: 'status', status: 503 };
      if (req.method === 'POST' && req.path.endsWith('/complete') && req.attempt === 1) return { kind: 'cut', afterBytes: 1 };
      return undefined;
    });
    const reports: UploadProgress[] = [];
    const started = performance.now();
    const u = client({ stallTimeoutMs: 1500 })
      .createUpload(await blob(), { name: 'clip.mp4', onProgress: (p) => reports.push(p), progressIntervalMs: 0 })
      .start();
    const file = await u.done;
    const elapsed = performance.now() - started;

    expect(file.size).toBe(SIZE);
    expect(await sha256OfUrl(file.url)).toBe(source.sha256);
    // The proxy's stalled request is paused, so it hears of the client hanging up only when its
    // stall ends; on a fast machine the upload is done before that. Wait for the log to settle.
    await s.proxy.settled();
    const puts = putsOf(s.proxy.log.find((e) => e.partNumber !== undefined && e.path.includes('/_disk/'))?.multipartId);
    expect(attemptsByPart(puts)).toEqual({ 1: 1, 2: 3, 3: 3, 4: 2, 5: 2, 6: 1, 7: 1 });
    expect(
      puts
        .filter((p) => p.status === 200)
        .map((p) => p.partNumber)
        .sort(),
    ).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(puts.filter((p) => p.fault === 'cut' || p.fault === 'stall').every((p) => p.status === 'cut' || p.partNumber === 6)).toBe(true);
    // The 429 held back every part of the client for the second it asked, not just part 4. A PUT
    // the client began before the 429 reached it may arrive a little later on a loaded machine
    // (seen at 50–100 ms): 250 ms of grace, then nothing until the second is up.
    const limited = puts.find((p) => p.status === 429) as Exchange;
    const during = puts.filter((p) => p.startedAt > (limited.endedAt ?? 0) + 250 && p.startedAt < (limited.endedAt ?? 0) + 900);
    expect(during).toEqual([]);
    expectMonotonicToOne(reports);
    expect(await allowance()).toMatchObject({ reservedBytes: 0 });
    // Parts sent two and three times, a complete cut off and sent again: one file row, one charge.
    await expectOneFileOneCharge(s.stack.ledger, file.id, SIZE);
    console.info(`faults: ${SIZE} bytes in ${puts.length} part PUTs, ${Math.round(elapsed)} ms`);
  });

  it('an expired part URL (S3 AccessDenied "Request has expired") is signed again at once, not retried as it was', async () => {
    const expired = '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>';
    s.proxy.rule((req) => (req.partNumber === 2 && req.attempt === 1 ? { kind: 'status', status: 403, body: expired } : undefined));
    const from = s.proxy.log.length;
    const file = await client({ retryDelays: [60_000] }).upload(await blob()); // a backoff would time the test out
    expect(await sha256OfUrl(file.url)).toBe(source.sha256);
    const puts = s.proxy.log.slice(from).filter((e) => e.partNumber === 2);
    expect(puts.map((p) => p.status)).toEqual([403, 200]);
    expect(puts[1]?.path).not.toBe(puts[0]?.path); // a new URL, signed after the refusal
    const signs = s.proxy.log.slice(from).filter((e) => e.path.endsWith('/parts'));
    expect(signs.some((e) => e.startedAt > (puts[0]?.endedAt ?? Number.POSITIVE_INFINITY))).toBe(true);
  });

  it('a byte flipped on the way: the storage refuses the part (Content-MD5) and the client sends it again', async () => {
    s.proxy.rule((req) => (req.partNumber === 3 && req.attempt === 1 ? { kind: 'flip', at: 12_345 } : undefined));
    const u = client()
      .createUpload(await blob())
      .start();
    const file = await u.done;
    expect(await sha256OfUrl(file.url)).toBe(source.sha256);
    const puts = putsOf(s.proxy.log.filter((e) => e.fault === 'flip').at(-1)?.multipartId).filter((p) => p.partNumber === 3);
    expect(puts.map((p) => p.status)).toEqual([422, 200]);
  });

  it('control: without part MD5s the same flipped byte lands, so the check above is what caught it', async () => {
    s.proxy.rule((req) => (req.partNumber === 3 && req.attempt === 1 ? { kind: 'flip', at: 12_345 } : undefined));
    const file = await client({ hashPart: false }).upload(await blob());
    expect(await sha256OfUrl(file.url)).not.toBe(source.sha256);
  });

  it('a part hashed from other bytes is refused every time: the upload fails with UPLOAD_INTEGRITY_FAILED and is released', async () => {
    const statuses: string[] = [];
    const hashPart = (part: Blob) => md5Base64(part.slice(1)); // hashes bytes other than those sent
    const small = await writeMp4(dir, 'small.mp4', 24 * MiB); // two parts: every attempt costs a part's bytes
    const u = client({ hashPart, retryDelays: [0, 20, 20, 20], concurrency: 1 })
      .createUpload(await openAsBlob(small.path, { type: 'video/mp4' }))
      .start();
    const error = await u.done.catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'DropgateError', code: 'UPLOAD_INTEGRITY_FAILED' });
    expect(u.state).toBe('failed');
    const status = (await (await fetch(`${s.endpoint}/${u.uploadId}`)).json()) as StatusResponse;
    statuses.push(status.status);
    expect(statuses).toEqual(['aborted']);
    const puts = putsOf(s.proxy.log.filter((e) => e.partNumber !== undefined).at(-1)?.multipartId);
    expect(puts.every((p) => p.status === 422 || p.status === 'cut')).toBe(true);
    // The part that gave up was tried once and retried once per delay.
    expect(Math.max(...Object.values(attemptsByPart(puts)))).toBe(5);
    expect(await allowance()).toMatchObject({ reservedBytes: 0 });
  });
});
