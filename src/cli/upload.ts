/**
 * `dropgate upload <files…> --endpoint <url>`: uploads local files through a dropgate API with the
 * same client browsers use. Files are streamed from disk (the client's `openFile`: node:fs reads of
 * 1 MiB), never read into memory; big ones go up in parallel parts and resume across runs from a
 * state file.
 */
import { realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient, createFileResumeStore, DEFAULT_MULTIPART_THRESHOLD, openFile, type Uploader } from '../client/index.js';
import { DropgateError, isDropgateError } from '../shared/errors.js';
import type { FileRecord } from '../shared/protocol.js';
import { formatBytes, parseSize } from '../shared/sizes.js';
import { typeForName } from '../shared/types.js';
import type { Io } from './io.js';
import { progressLine } from './progress-bar.js';

export { progressLine };

export const UPLOAD_HELP = `Usage: dropgate upload <files…> --endpoint <url> [--api-key K] [--route R] [--json]
                       [--concurrency N] [--multipart-threshold SIZE] [--resume-file F | --no-resume]

Uploads files through a dropgate API straight to its storage, one after the other. Files larger
than the multipart threshold go up in parallel parts; an interrupted one resumes where it stopped
when the same command runs again.

Options:
  --endpoint URL              the API base, e.g. http://localhost:3000/api/upload
  --api-key K                 sent as "Authorization: Bearer K" (env DROPGATE_API_KEY)
  --route R                   the server route to upload to (its limits and allowed types)
  --json                      one JSON object per file per line on stdout:
                              {"file":{id,key,size,contentType,url},"path":…} or {"error":{code,message},"path":…}
  --concurrency N             parts in flight at once (default 4)
  --multipart-threshold SIZE  files larger than this go up in parts (default 100MiB)
  --resume-file F             where interrupted uploads are remembered (default ~/.dropgate/uploads.json)
  --no-resume                 neither remember nor resume uploads
  -h, --help                  show this help

Ctrl-C stops at once: a multipart upload is kept for the next run to resume (the server releases
it if none does within its upload lifetime), any other upload is cancelled. Exit status: 0 when
every file was uploaded, 1 when any failed, 2 on a usage error, 130 when interrupted.`;

/** @example contentTypeFor('clips/Intro.MP4') // 'video/mp4' */
export function contentTypeFor(path: string): string {
  return typeForName(basename(path)) ?? 'application/octet-stream';
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

/** Where Ctrl-C comes from; tests hand in their own. Returns the function that stops listening. */
export type Interrupts = (onInterrupt: () => void) => () => void;

const processInterrupts: Interrupts = (handler) => {
  process.on('SIGINT', handler);
  return () => process.off('SIGINT', handler);
};

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      endpoint: { type: 'string' },
      'api-key': { type: 'string' },
      route: { type: 'string' },
      json: { type: 'boolean' },
      concurrency: { type: 'string' },
      'multipart-threshold': { type: 'string' },
      'resume-file': { type: 'string' },
      'no-resume': { type: 'boolean' },
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
export async function runUpload(
  argv: string[],
  io: Io = process,
  env: NodeJS.ProcessEnv = process.env,
  interrupts: Interrupts = processInterrupts,
): Promise<number> {
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
  const concurrency = Number(values.concurrency ?? 4);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    return usage(io, `--concurrency must be a whole number from 1 to 64, got "${values.concurrency}".`);
  }
  let multipartThreshold = DEFAULT_MULTIPART_THRESHOLD;
  try {
    if (values['multipart-threshold'] !== undefined) multipartThreshold = parseSize(values['multipart-threshold']);
  } catch {
    return usage(io, `--multipart-threshold must be a size like 100MiB, got "${values['multipart-threshold']}".`);
  }
  if (values['no-resume'] && values['resume-file'] !== undefined) return usage(io, '--resume-file and --no-resume exclude each other.');

  const apiKey = values['api-key'] ?? env.DROPGATE_API_KEY;
  const resumeFile = values['no-resume'] ? undefined : (values['resume-file'] ?? join(env.HOME || homedir(), '.dropgate', 'uploads.json'));
  const client = createClient({
    endpoint: values.endpoint,
    concurrency,
    multipartThreshold,
    ...(apiKey ? { headers: { authorization: `Bearer ${apiKey}` } } : {}),
    ...(values.route !== undefined ? { route: values.route } : {}),
    ...(resumeFile ? { resumeStore: createFileResumeStore(resumeFile) } : {}),
  });

  // Ctrl-C: the upload in flight stops. A resumable one is kept for the next run; one that cannot
  // resume is cancelled, its reservation released before we exit.
  let current: Uploader | undefined;
  let presses = 0;
  let onInterrupt!: () => void;
  const interrupted = new Promise<void>((resolve) => {
    onInterrupt = () => {
      presses += 1;
      if (presses === 1 && current?.resumable) current.pause();
      else void current?.abort();
      resolve();
    };
  });
  const stop = interrupts(onInterrupt);
  let failed = 0;
  try {
    for (const path of paths) {
      const outcome = await uploadOne(client, path, io, multipartThreshold, resumeFile !== undefined, interrupted, (u) => (current = u));
      if ('error' in outcome) failed += 1;
      report(io, outcome, values.json === true);
      if (presses > 0) return 130;
    }
  } finally {
    stop();
  }
  return failed === 0 ? 0 : 1;
}

async function uploadOne(
  client: ReturnType<typeof createClient>,
  path: string,
  io: Io,
  threshold: number,
  resume: boolean,
  interrupted: Promise<void>,
  started: (u: Uploader) => void,
): Promise<Outcome> {
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
    const blob = await openFile(path, { type: contentType });
    // The same file, unchanged: its real path, size and modification time.
    const fingerprint = `${await realpath(path)}|${info.mtimeMs}`;
    const u = client.createUpload(blob, {
      name,
      contentType,
      fingerprint,
      ...(resume && info.size > threshold ? {} : { resumeStore: undefined }),
      ...(live ? { onProgress: (p) => io.stderr.write(`\r\x1b[K${progressLine(name, p, 20)}`) } : {}),
    });
    started(u.start());
    await Promise.race([u.done, interrupted]);
    if (u.state === 'paused') {
      if (live) io.stderr.write('\r\x1b[K');
      const message = `Interrupted; the upload is kept: run the same command again to resume it (${formatBytes(u.progress.loadedBytes)} sent).`;
      return { path, error: new DropgateError('UPLOAD_ABORTED', message) };
    }
    const file = await u.done;
    if (live) io.stderr.write('\r\x1b[K');
    if (u.resumedParts > 0) io.stderr.write(`resumed ${path}: ${u.resumedParts} parts were already uploaded\n`);
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
