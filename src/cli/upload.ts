/**
 * `dropgate upload <files…> --endpoint <url>`: uploads local files through a dropgate API with the
 * same client browsers use. Files are streamed from disk (`fs.openAsBlob`), never read into memory.
 */
import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient, type UploadProgress } from '../client/index.js';
import { DropgateError, isDropgateError } from '../shared/errors.js';
import type { FileRecord } from '../shared/protocol.js';
import { formatBytes } from '../shared/sizes.js';
import { typeForName } from '../shared/types.js';
import type { Io } from './io.js';

export const UPLOAD_HELP = `Usage: dropgate upload <files…> --endpoint <url> [--api-key K] [--route R] [--json]

Uploads files through a dropgate API straight to its storage, one after the other.

Options:
  --endpoint URL    the API base, e.g. http://localhost:3000/api/upload
  --api-key K       sent as "Authorization: Bearer K" (env DROPGATE_API_KEY)
  --route R         the server route to upload to (its limits and allowed types)
  --json            one JSON object per file per line on stdout:
                    {"file":{id,key,size,contentType,url},"path":…} or {"error":{code,message},"path":…}
  -h, --help        show this help

Exit status: 0 when every file was uploaded, 1 when any failed, 2 on a usage error.`;

/** @example contentTypeFor('clips/Intro.MP4') // 'video/mp4' */
export function contentTypeFor(path: string): string {
  return typeForName(basename(path)) ?? 'application/octet-stream';
}

/** @example progressLine('a.mp4', p) // 'a.mp4  42%  1.3 MiB / 3.0 MiB  2.1 MiB/s  ETA 1s' */
export function progressLine(name: string, p: UploadProgress): string {
  const percent = `${Math.floor(p.progress * 100)}%`.padStart(4);
  const speed = p.bytesPerSecond > 0 ? `  ${formatBytes(Math.round(p.bytesPerSecond))}/s` : '';
  const eta = p.etaSeconds !== null && p.progress < 1 ? `  ETA ${Math.ceil(p.etaSeconds)}s` : '';
  return `${name}  ${percent}  ${formatBytes(p.loadedBytes)} / ${formatBytes(p.totalBytes)}${speed}${eta}`;
}

type Outcome = { path: string; file: FileRecord } | { path: string; error: DropgateError };

/** `{"file":{…}}` with exactly the documented fields, so scripts get a stable shape. */
export function jsonLine(outcome: Outcome): string {
  if ('file' in outcome) {
    const { id, key, size, contentType, url } = outcome.file;
    return JSON.stringify({ file: { id, key, size, contentType, url }, path: outcome.path });
  }
  const { code, message } = outcome.error;
  return JSON.stringify({ error: { code, message }, path: outcome.path });
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      endpoint: { type: 'string' },
      'api-key': { type: 'string' },
      route: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/**
 * Runs `dropgate upload`; resolves to the exit status.
 *
 * @example
 * process.exitCode = await runUpload(['clip.mp4', '--endpoint', 'http://localhost:3000/api/upload', '--json']);
 */
export async function runUpload(argv: string[], io: Io = process, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (error) {
    return usage(io, (error as Error).message);
  }
  const { values, positionals: paths } = args;
  if (values.help) {
    io.stdout.write(`${UPLOAD_HELP}\n`);
    return 0;
  }
  if (paths.length === 0) return usage(io, 'no files given.');
  if (!values.endpoint) return usage(io, '--endpoint is required.');
  if (!/^https?:\/\/[^/]/i.test(values.endpoint) || !URL.canParse(values.endpoint)) {
    return usage(io, `--endpoint must be an http(s) URL, got "${values.endpoint}".`);
  }

  const apiKey = values['api-key'] ?? env.DROPGATE_API_KEY;
  const client = createClient({
    endpoint: values.endpoint,
    ...(apiKey ? { headers: { authorization: `Bearer ${apiKey}` } } : {}),
    ...(values.route !== undefined ? { route: values.route } : {}),
  });

  // Ctrl-C aborts the upload in flight, which releases its reservation on the server.
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  let failed = 0;
  try {
    for (const path of paths) {
      const outcome = await uploadOne(client, path, io, controller.signal);
      if ('error' in outcome) failed += 1;
      report(io, outcome, values.json === true);
      if (controller.signal.aborted) return 130;
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  return failed === 0 ? 0 : 1;
}

async function uploadOne(client: ReturnType<typeof createClient>, path: string, io: Io, signal: AbortSignal): Promise<Outcome> {
  const name = basename(path);
  const live = io.stderr.isTTY === true;
  try {
    const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT'
        ? new DropgateError('NOT_FOUND', `No such file: ${path}`)
        : new DropgateError('INVALID_REQUEST', `Cannot read ${path}: ${error.message}`, {}, { cause: error });
    });
    if (!info.isFile()) throw new DropgateError('INVALID_REQUEST', `Not a regular file: ${path}`);
    const contentType = contentTypeFor(path);
    const blob = await openAsBlob(path, { type: contentType });
    const file = await client.upload(blob, {
      name,
      contentType,
      signal,
      ...(live ? { onProgress: (p: UploadProgress) => io.stderr.write(`\r\x1b[K${progressLine(name, p)}`) } : {}),
    });
    if (live) io.stderr.write('\r\x1b[K');
    return { path, file };
  } catch (error) {
    if (live) io.stderr.write('\r\x1b[K');
    const typed = isDropgateError(error)
      ? error
      : new DropgateError('INTERNAL_ERROR', error instanceof Error ? error.message : String(error), {}, { cause: error });
    return { path, error: typed };
  }
}

function report(io: Io, outcome: Outcome, json: boolean): void {
  if (json) {
    io.stdout.write(`${jsonLine(outcome)}\n`);
  } else if ('file' in outcome) {
    io.stdout.write(`uploaded ${outcome.path} (${formatBytes(outcome.file.size)}) ${outcome.file.url}\n`);
  } else {
    io.stderr.write(`failed ${outcome.path}: ${outcome.error.code}: ${outcome.error.message}\n`);
  }
}

function usage(io: Io, problem: string): number {
  io.stderr.write(`dropgate upload: ${problem}\n\n${UPLOAD_HELP}\n`);
  return 2;
}
