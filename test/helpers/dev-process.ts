/**
 * Runs the real CLI, `node bin/dropgate.js dev`, as a child process: what a user gets from
 * `npx dropgate dev`, so browser tests exercise the shipped entry point, not an in-process copy.
 *
 * @example
 * const dev = await startDevProcess();
 * await fetch(`${dev.url}/api/upload`);
 * expect(dev.output()).not.toContain('token');
 * await dev.stop();
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI_PATH = join(REPO_ROOT, 'bin/dropgate.js');

export interface DevProcess {
  /** Origin of the dev server, `http://localhost:<port>`. */
  url: string;
  dataDir: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Ends the process (SIGTERM, then SIGKILL after a grace period) and removes a data dir it made. */
  stop(): Promise<void>;
}

export interface DevProcessOptions {
  /** Data folder; a fresh temp dir (removed on stop) when omitted. */
  dataDir?: string;
  /** More CLI arguments after `dev --port N --data-dir D`. */
  args?: string[];
  /** Extra environment; DROPGATE_* and PORT from the test runner's own environment are not passed on. */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

/** A port that was free a moment ago (the OS picks it; a race with another process is unlikely). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The environment without settings that would point the child at other storage, ledger or auth. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('DROPGATE_') || name.startsWith('S3_') || name.startsWith('AWS_')) continue;
    if (name === 'PORT' || name === 'DATABASE_URL' || name === 'REDIS_URL') continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

export async function startDevProcess(options: DevProcessOptions = {}): Promise<DevProcess> {
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'dropgate-dev-')));
  const port = await freePort();
  const url = `http://localhost:${port}`;
  const args = [CLI_PATH, 'dev', '--port', String(port), '--data-dir', dataDir, ...(options.args ?? [])];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: childEnv(options.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await kill(child, exited);
    if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
  };

  try {
    await waitUntilReady(url, exited, options.readyTimeoutMs ?? 90_000);
  } catch (error) {
    await stop();
    const hint = /ERR_MODULE_NOT_FOUND[\s\S]*dist\//.test(output) ? ' (bin/dropgate.js runs the build in dist/: run `npm run build`)' : '';
    throw new Error(`dropgate dev did not become ready${hint}: ${(error as Error).message}\n--- its output ---\n${output || '(none)'}`);
  }
  return { url, dataDir, output: () => output, stop };
}

/**
 * Polls until the server is up (`GET /healthz`, or `/` where there is none, answers 200) and its
 * API too (`GET /api/upload` answers 200): the listener can be up before the ledger is open.
 * Fails early if the process exits.
 */
async function waitUntilReady(url: string, exited: Promise<number | null>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  exited.then((code) => (exitCode = code));
  let last = 'no answer yet';
  const answers200 = async (path: string) => {
    try {
      const response = await fetch(url + path, { signal: AbortSignal.timeout(Math.max(1, Math.min(10_000, deadline - Date.now()))) });
      await response.body?.cancel();
      if (response.status === 200) return true;
      last = `GET ${path} answered ${response.status}`;
    } catch (error) {
      last = `GET ${path} failed: ${(error as Error).message}`;
    }
    return false;
  };
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`the process exited with code ${exitCode}`);
    if (((await answers200('/healthz')) || (await answers200('/'))) && (await answers200('/api/upload'))) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no 200 from ${url} within ${timeoutMs} ms (${last})`);
}

async function kill(child: ChildProcess, exited: Promise<number | null>, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
