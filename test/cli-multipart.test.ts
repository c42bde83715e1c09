/**
 * `dropgate upload` with big files, against the dev stack behind the fault proxy (which counts part
 * PUTs and injects nothing): parts in parallel with a progress bar, Ctrl-C keeping a multipart
 * upload that the next run resumes, Ctrl-C cancelling one that cannot resume, and its options.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Interrupts, runUpload } from '../src/cli/upload.js';
import type { FileListResponse, StatusResponse } from '../src/shared/protocol.js';
import { MiB } from '../src/shared/sizes.js';
import type { Exchange } from './helpers/fault-proxy.js';
import { type ProxiedStack, sha256OfUrl, startProxiedStack, writeMp4 } from './helpers/proxied-stack.js';

let s: ProxiedStack;
let dir: string;

beforeAll(async () => {
  s = await startProxiedStack();
  dir = await mkdtemp(join(tmpdir(), 'dropgate-cli-multipart-'));
});
afterAll(async () => {
  await s?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Captured output; `onStderr` sees every write (the progress lines on a fake terminal). */
function captureIo(tty: boolean, onStderr: (text: string) => void = () => {}) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: { write: (t: string) => out.push(t), isTTY: false },
      stderr: {
        write: (t: string) => {
          err.push(t);
          onStderr(t);
        },
        isTTY: tty,
      },
    },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

/** A Ctrl-C the test presses, instead of the process's SIGINT. */
function fakeCtrlC() {
  let handler: (() => void) | undefined;
  const interrupts: Interrupts = (h) => {
    handler = h;
    return () => (handler = undefined);
  };
  return { interrupts, press: () => handler?.() };
}

const percentOf = (text: string) => Number(/(\d+)%/.exec(text)?.[1] ?? 0);
const partPutsSince = (from: number) => s.proxy.log.slice(from).filter((e) => e.partNumber !== undefined);
const numbers = (puts: Exchange[]) => puts.map((e) => e.partNumber as number).sort((a, b) => a - b);
/** The part numbers the storage holds for an upload, as the gateway reports them. */
const storedParts = async (uploadId: string | undefined) =>
  ((await (await fetch(`${s.endpoint}/${uploadId}`)).json()) as StatusResponse).parts?.map((p) => p.partNumber);
const allowance = async () => ((await (await fetch(s.endpoint)).json()) as FileListResponse).allowance;

describe('dropgate upload, multipart', () => {
  it('Ctrl-C keeps a multipart upload; the same command resumes it, sending only the missing parts', async () => {
    const clip = await writeMp4(dir, 'clip.mp4', 80 * MiB + 3); // 6 parts
    const stateFile = join(dir, 'state.json');
    const argv = [
      clip.path,
      '--endpoint',
      s.endpoint,
      '--json',
      '--multipart-threshold',
      '20MiB',
      '--concurrency',
      '2',
      '--resume-file',
      stateFile,
    ];
    const ctrlC = fakeCtrlC();
    const first = captureIo(true, (text) => percentOf(text) >= 50 && ctrlC.press());
    const firstFrom = s.proxy.log.length;
    expect(await runUpload(argv, first.io, {}, ctrlC.interrupts)).toBe(130);
    expect(first.stderr()).toMatch(/clip\.mp4 {2}\[#+-*\] +\d+% {2}[\d.]+ MiB \/ 80 MiB/);
    expect(JSON.parse(first.stdout())).toEqual({
      error: { code: 'UPLOAD_ABORTED', message: expect.stringContaining('run the same command again to resume') },
      path: clip.path,
    });
    const saved = Object.values(JSON.parse(await readFile(stateFile, 'utf8'))) as { uploadId: string }[];
    expect(saved).toHaveLength(1);
    // What the storage holds once it has answered every PUT of run 1: the parts it said 200 to,
    // including one whose last bytes were on the wire when Ctrl-C cut it (its client never heard).
    await s.proxy.settled();
    const firstPuts = partPutsSince(firstFrom);
    const held = numbers(firstPuts.filter((e) => e.storageStatus === 200));
    expect(held.length).toBeGreaterThan(0);
    expect(held).toEqual(expect.arrayContaining(numbers(firstPuts.filter((e) => e.status === 200))));
    expect(await storedParts(saved[0]?.uploadId)).toEqual(held);
    const unheard = firstPuts.filter((e) => e.storageStatus === 200 && e.status === 'cut').length;
    console.info(`Ctrl-C: run 1 left ${held.length} parts, ${unheard} of them cut after their last byte went`);

    const secondFrom = s.proxy.log.length;
    const second = captureIo(false);
    expect(await runUpload(argv, second.io, {})).toBe(0);
    const line = JSON.parse(second.stdout());
    expect(line).toMatchObject({ file: { size: 80 * MiB + 3, contentType: 'video/mp4' }, path: clip.path });
    expect(second.stderr()).toBe(`resumed ${clip.path}: ${held.length} parts were already uploaded\n`);
    expect(numbers(partPutsSince(secondFrom))).toEqual([1, 2, 3, 4, 5, 6].filter((n) => !held.includes(n)));
    expect(await sha256OfUrl(line.file.url)).toBe(clip.sha256);
    expect(JSON.parse(await readFile(stateFile, 'utf8'))).toEqual({});
  });

  it('Ctrl-C cancels an upload that cannot resume (--no-resume) and releases it', async () => {
    const clip = await writeMp4(dir, 'other.mp4', 48 * MiB);
    const ctrlC = fakeCtrlC();
    const run = captureIo(true, (text) => percentOf(text) >= 30 && ctrlC.press());
    const argv = [clip.path, '--endpoint', s.endpoint, '--json', '--multipart-threshold', '20MiB', '--no-resume'];
    expect(await runUpload(argv, run.io, {}, ctrlC.interrupts)).toBe(130);
    expect(JSON.parse(run.stdout())).toMatchObject({ error: { code: 'UPLOAD_ABORTED', message: 'The upload was aborted.' } });
    expect(await allowance()).toMatchObject({ reservedBytes: 0 });
  });

  it('refuses bad --concurrency and --multipart-threshold values, and --resume-file with --no-resume (exit 2)', async () => {
    for (const extra of [
      ['--concurrency', '0'],
      ['--concurrency', 'many'],
      ['--multipart-threshold', 'big'],
      ['--no-resume', '--resume-file', 'x'],
    ]) {
      const run = captureIo(false);
      expect(await runUpload(['a.mp4', '--endpoint', s.endpoint, ...extra], run.io, {}), extra.join(' ')).toBe(2);
      expect(run.stderr()).toContain('Usage: dropgate upload');
    }
  });
});
