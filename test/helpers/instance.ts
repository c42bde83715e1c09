/**
 * Starts a production gateway instance as a real child process on a loopback port, so tests can
 * run several side by side on one PostgreSQL and one Redis, and `kill -9` one of them.
 *
 * There is no tsx here and `dist/` may be stale, so the entry is bundled from the current source
 * with esbuild (dependencies stay external, resolved from node_modules) in a few tens of ms.
 *
 * @example
 * const a = await startInstance({ env: { DATABASE_URL, REDIS_URL, DROPGATE_API_KEYS, DROPGATE_SECRET, DROPGATE_DATA_DIR } });
 * await fetch(`${a.endpoint}`, { headers: { authorization: 'Bearer …' } });
 * a.kill('SIGKILL');
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { RouteConfig } from '../../src/server/config.js';
import { freePort, REPO_ROOT } from './dev-process.js';

export interface InstanceEnv {
  DATABASE_URL: string;
  REDIS_URL: string;
  DROPGATE_API_KEYS: string;
  DROPGATE_SECRET: string;
  DROPGATE_DATA_DIR: string;
  [name: string]: string;
}

export interface InstanceOptions {
  env: InstanceEnv;
  /** Written to a `dropgate.config.json` the instance reads with `--config`. */
  routes?: Record<string, RouteConfig>;
  port?: number;
  readyTimeoutMs?: number;
}

export interface Instance {
  url: string;
  /** `{url}/api/upload`. */
  endpoint: string;
  port: number;
  output(): string;
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  exited: Promise<number | string>;
  /** Sends a signal; SIGKILL is `kill -9`: no cleanup, no goodbye. */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
  stop(): Promise<void>;
}

const CACHE = join(REPO_ROOT, 'node_modules/.cache/dropgate-test');
let bundled: Promise<string> | undefined;

/** The child's entry as one ESM file, built once per test process. */
function entry(): Promise<string> {
  bundled ??= (async () => {
    await mkdir(CACHE, { recursive: true });
    const outfile = join(CACHE, `instance-${process.pid}.mjs`);
    await build({
      entryPoints: [join(REPO_ROOT, 'test/helpers/instance-main.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outfile,
      logLevel: 'error',
    });
    return outfile;
  })();
  return bundled;
}

/** Only what the instance needs: nothing from the runner's environment points it elsewhere. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', 'NODE_OPTIONS'];
  const env: NodeJS.ProcessEnv = {};
  for (const name of keep) if (process.env[name] !== undefined) env[name] = process.env[name];
  return { ...env, ...extra };
}

export async function startInstance(options: InstanceOptions): Promise<Instance> {
  const script = await entry();
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const config = join(options.env.DROPGATE_DATA_DIR, `dropgate.config.${port}.json`);
  await mkdir(options.env.DROPGATE_DATA_DIR, { recursive: true });
  await writeFile(config, JSON.stringify({ routes: options.routes ?? { default: {} } }));
  const child: ChildProcess = spawn(process.execPath, [script, '--config', config], {
    cwd: REPO_ROOT,
    env: childEnv({ ...options.env, PORT: String(port), DROPGATE_PUBLIC_URL: url }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));

  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const stop = async () => {
    if (gone()) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  const timeoutMs = options.readyTimeoutMs ?? 20_000;
  const ready = await Promise.race([
    new Promise<'ready'>((resolve) => {
      const check = () => output.includes('listening on') && resolve('ready');
      child.stdout?.on('data', check);
      check();
    }),
    exited.then((code) => `exited with ${code}`),
    new Promise<string>((resolve) => setTimeout(() => resolve(`not ready within ${timeoutMs} ms`), timeoutMs).unref()),
  ]);
  if (ready !== 'ready') {
    await stop();
    throw new Error(`gateway instance on ${url} ${ready}\n--- its output ---\n${output || '(none)'}`);
  }
  return { url, endpoint: `${url}/api/upload`, port, output: () => output, exited, kill: (signal) => child.kill(signal), stop };
}
