/**
 * `dropgate upload` against the real gateway (`dropgate dev`'s stack on a loopback port).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toNodeHandler } from '../src/adapters/node.js';
import { runUpload } from '../src/cli/upload.js';
import { createPGliteLedger } from '../src/ledger/pglite.js';
import { createDropgate } from '../src/server/gateway.js';
import type { FileListResponse } from '../src/shared/protocol.js';
import { MiB } from '../src/shared/sizes.js';
import { createDiskStorage } from '../src/storage/disk.js';
import { type DevStack, startDevStack } from './helpers/dev-stack.js';

let stack: DevStack;
let dir: string;

beforeAll(async () => {
  stack = await startDevStack();
  dir = await mkdtemp(join(tmpdir(), 'dropgate-cli-'));
});

afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * The same gateway, disk store and ledger as `dropgate dev`, but behind API keys, as `dropgate
 * serve` runs it. Records the headers of the PUTs its disk store receives.
 */
async function startKeyedGateway(keys: Record<string, string>) {
  const dataDir = await mkdtemp(join(tmpdir(), 'dropgate-cli-keyed-'));
  const ledger = await createPGliteLedger({});
  await ledger.migrate();
  const storagePuts: IncomingHttpHeaders[] = [];
  let handler: ReturnType<typeof toNodeHandler> | undefined;
  const server = createServer((req, res) => {
    if (req.url?.includes('/_disk/')) storagePuts.push(req.headers);
    void handler?.(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const gateway = createDropgate({
    storage: createDiskStorage({ directory: join(dataDir, 'files'), secret: randomBytes(32), baseUrl: `${url}/api/upload/_disk` }),
    ledger,
    publicUrl: url,
    routes: { default: { visibility: 'public' } },
    authenticate: (request) => {
      const key = /^Bearer (.+)$/.exec(request.header('authorization') ?? '')?.[1];
      const userId = key === undefined ? undefined : keys[key];
      return userId ? { userId } : null;
    },
    log: () => {},
  });
  handler = toNodeHandler(gateway);
  return {
    endpoint: `${url}/api/upload`,
    storagePuts,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await ledger.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Captured stdout/stderr; `tty` makes stderr look like a terminal. */
function captureIo(tty = false) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (t: string) => out.push(t), isTTY: false }, stderr: { write: (t: string) => err.push(t), isTTY: tty } },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function writeMp4(name: string, size: number) {
  const bytes = randomBytes(size);
  bytes.set([0, 0, 0, 0x18, ...Buffer.from('ftypisom'), 0, 0, 2, 0, ...Buffer.from('isomiso2')]);
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { path, bytes };
}

describe('dropgate upload', () => {
  it('--json: one parseable line per file, the bytes land, exit 0', async () => {
    const a = await writeMp4('a.mp4', 3 * MiB);
    const b = await writeMp4('b.MOV', 1000);
    b.bytes.set(Buffer.from('moov'), 4);
    await writeFile(b.path, b.bytes);
    const run = captureIo();
    const code = await runUpload([a.path, b.path, '--endpoint', stack.endpoint, '--json'], run.io, {});
    expect(run.stderr()).toBe('');
    expect(code).toBe(0);

    const lines = run
      .stdout()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toEqual({
      file: {
        id: expect.any(String),
        key: expect.stringMatching(/\.mp4$/),
        size: 3 * MiB,
        contentType: 'video/mp4',
        url: expect.any(String),
      },
      path: a.path,
    });
    expect(lines[1].file).toMatchObject({ size: 1000, contentType: 'video/quicktime' });
    for (const [line, { bytes }] of [
      [lines[0], a],
      [lines[1], b],
    ] as const) {
      const read = await fetch(line.file.url);
      expect(sha256(new Uint8Array(await read.arrayBuffer()))).toBe(sha256(bytes));
    }
    const list = (await (await fetch(stack.endpoint)).json()) as FileListResponse;
    expect(list.files.map((f) => f.id).sort()).toEqual([lines[0].file.id, lines[1].file.id].sort());
  });

  it('a missing file and a refused type are error lines, the others still upload, exit 1', async () => {
    const ok = await writeMp4('ok.mp4', 2000);
    const page = join(dir, 'page.html');
    await writeFile(page, '<!doctype html><p>hi');
    const missing = join(dir, 'nope.mp4');
    const run = captureIo();
    const code = await runUpload(['--json', '--endpoint', stack.endpoint, missing, page, ok.path], run.io, {});
    expect(code).toBe(1);
    const lines = run
      .stdout()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { error: { code: 'NOT_FOUND', message: expect.stringContaining(missing) }, path: missing },
      { error: { code: 'FILE_TYPE_NOT_ALLOWED', message: expect.any(String) }, path: page },
      { file: expect.objectContaining({ size: 2000, contentType: 'video/mp4' }), path: ok.path },
    ]);
  });

  it('without --json prints a plain line per file, and progress only on a terminal', async () => {
    const clip = await writeMp4('clip.mp4', 2 * MiB);
    const plain = captureIo();
    expect(await runUpload([clip.path, '--endpoint', stack.endpoint], plain.io, {})).toBe(0);
    expect(plain.stdout()).toMatch(new RegExp(`^uploaded ${clip.path} \\(2\\.0 MiB\\) http://\\S+\\n$`));
    expect(plain.stderr()).toBe('');

    const tty = captureIo(true);
    expect(await runUpload([clip.path, '--endpoint', stack.endpoint], tty.io, {})).toBe(0);
    expect(tty.stderr()).toContain('\r\x1b[Kclip.mp4');
    expect(tty.stderr()).toMatch(/\d+%\s+[\d.]+ (B|KiB|MiB) \/ 2\.0 MiB/);
    expect(tty.stderr().endsWith('\r\x1b[K')).toBe(true);

    const failed = captureIo();
    expect(await runUpload([join(dir, 'gone.mp4'), '--endpoint', stack.endpoint], failed.io, {})).toBe(1);
    expect(failed.stderr()).toMatch(/^failed .*gone\.mp4: NOT_FOUND: No such file/);
  });

  it('sends --api-key (or DROPGATE_API_KEY) as a bearer token to the API, never to the storage', async () => {
    const keyed = await startKeyedGateway({ k1: 'alice' });
    try {
      const clip = await writeMp4('key.mp4', 1000);
      const upload = async (argv: string[], env: NodeJS.ProcessEnv = {}) => {
        const run = captureIo();
        const code = await runUpload([clip.path, '--endpoint', keyed.endpoint, '--json', ...argv], run.io, env);
        return { code, line: JSON.parse(run.stdout()) };
      };
      expect(await upload(['--api-key', 'k1'])).toMatchObject({ code: 0, line: { file: { size: 1000 } } });
      expect(await upload([], { DROPGATE_API_KEY: 'k1' })).toMatchObject({ code: 0 });
      expect(await upload(['--api-key', 'k1'], { DROPGATE_API_KEY: 'wrong' })).toMatchObject({ code: 0 });
      expect(await upload([])).toMatchObject({ code: 1, line: { error: { code: 'UNAUTHENTICATED' }, path: clip.path } });
      expect(await upload(['--api-key', 'wrong'])).toMatchObject({ code: 1, line: { error: { code: 'UNAUTHENTICATED' } } });
      expect(keyed.storagePuts).toHaveLength(3);
      expect(keyed.storagePuts.every((headers) => headers.authorization === undefined)).toBe(true);
    } finally {
      await keyed.close();
    }
  });

  it('usage errors exit 2 and say what is wrong', async () => {
    const cases: [string[], RegExp][] = [
      [['a.mp4', '--endpoint', stack.endpoint, '--nope'], /Unknown option '--nope'/],
      [['--endpoint', stack.endpoint], /no files given/],
      [['a.mp4'], /--endpoint is required/],
      [['a.mp4', '--endpoint', 'localhost:3000/api/upload'], /must be an http\(s\) URL/],
      [['a.mp4', '--endpoint'], /argument missing/],
    ];
    for (const [argv, message] of cases) {
      const run = captureIo();
      expect(await runUpload(argv, run.io, {}), argv.join(' ')).toBe(2);
      expect(run.stderr()).toMatch(message);
      expect(run.stderr()).toContain('Usage: dropgate upload');
      expect(run.stdout()).toBe('');
    }
  });

  it('--help prints usage and exits 0', async () => {
    const run = captureIo();
    expect(await runUpload(['--help'], run.io, {})).toBe(0);
    expect(run.stdout()).toContain('Usage: dropgate upload <files…> --endpoint <url>');
  });

  it('refuses a directory as a file', async () => {
    const sub = join(dir, 'folder.mp4');
    await mkdir(sub, { recursive: true });
    const run = captureIo();
    expect(await runUpload([sub, '--endpoint', stack.endpoint, '--json'], run.io, {})).toBe(1);
    expect(JSON.parse(run.stdout())).toMatchObject({
      error: { code: 'INVALID_REQUEST', message: expect.stringContaining('Not a regular file') },
    });
  });
});
