/**
 * Runs the real `node bin/dropgate.js serve` as a child process, as an operator would, with only
 * the environment the test gives it.
 *
 * @example
 * await ensureBuilt();
 * const serve = await startServeProcess({ env: { DROPGATE_API_KEYS: 'k_…:alice' } });
 * await fetch(`${serve.url}/readyz`);
 * expect(await serve.stop()).toBe(0);
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI_PATH, freePort, REPO_ROOT } from './dev-process.js';

export interface ServeProcess {
  /** `http://localhost:{port}`, also given to the process as DROPGATE_PUBLIC_URL. */
  url: string;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (-1 when killed by a signal). */
  exited: Promise<number>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number>;
}

export interface ServeProcessOptions {
  env?: Record<string, string>;
  args?: string[];
  /** Working directory (where dropgate.config.* is looked for). */
  cwd?: string;
  readyTimeoutMs?: number;
}

/** The parent's environment minus anything that would point the child at other storage, ledger or auth. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(DROPGATE_|S3_|AWS_)/.test(name) || ['PORT', 'DATABASE_URL', 'REDIS_URL'].includes(name)) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
    }
  }
  return newest;
}

/** `bin/dropgate.js` runs dist/: rebuild it when any source is newer (CI has built it in `npm ci`). */
export async function ensureBuilt(): Promise<void> {
  const built = await stat(join(REPO_ROOT, 'dist/cli/serve.js')).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  if (built >= (await newestMtime(join(REPO_ROOT, 'src')))) return;
  await promisify(execFile)('npm', ['run', 'build'], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
}

/** Runs `dropgate serve` to its end (a refusal to start), collecting its output. */
export async function runServeToExit(options: ServeProcessOptions = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI_PATH, 'serve', ...(options.args ?? [])], {
    cwd: options.cwd ?? REPO_ROOT,
    env: childEnv(options.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? -1)));
  return { code, stdout, stderr };
}

/** Starts `dropgate serve` on a free port and waits until `/readyz` answers 200. */
export async function startServeProcess(options: ServeProcessOptions = {}): Promise<ServeProcess> {
  const port = await freePort();
  const url = `http://localhost:${port}`;
  const child = spawn(process.execPath, [CLI_PATH, 'serve', '--port', String(port), ...(options.args ?? [])], {
    cwd: options.cwd ?? REPO_ROOT,
    env: childEnv({ DROPGATE_PUBLIC_URL: url, ...options.env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  let exitCode: number | undefined;
  void exited.then((code) => (exitCode = code));

  const stop = async (graceMs = 30_000) => {
    if (exitCode !== undefined) return exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (exitCode !== undefined) throw new Error(`dropgate serve exited with ${exitCode}:\n${stderr}${stdout}`);
    const status = await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    if (Date.now() > deadline) {
      await stop(1000);
      throw new Error(`dropgate serve was not ready within the timeout:\n${stderr}${stdout}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, child, stdout: () => stdout, stderr: () => stderr, exited, stop };
}
