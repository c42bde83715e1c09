/**
 * Starts a production gateway instance — the real `node bin/dropgate.js serve`, as an operator runs
 * it — on a loopback port, so tests can run several side by side on one PostgreSQL and one Redis,
 * and `kill -9` one of them. Routes go in a `dropgate.config.json` the instance reads with --config.
 *
 * @example
 * const a = await startInstance({ env: { DATABASE_URL, REDIS_URL, DROPGATE_API_KEYS, DROPGATE_SECRET, DROPGATE_DATA_DIR } });
 * await fetch(a.endpoint, { headers: { authorization: 'Bearer …' } });
 * a.kill('SIGKILL');
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RouteConfig } from '../../src/server/config.js';
import { ensureBuilt, startServeProcess } from './serve-process.js';

export interface InstanceEnv {
  DATABASE_URL: string;
  REDIS_URL: string;
  DROPGATE_API_KEYS: string;
  DROPGATE_SECRET: string;
  /** Shared by all instances: the disk store's files live in `{DROPGATE_DATA_DIR}/files`. */
  DROPGATE_DATA_DIR: string;
  [name: string]: string;
}

export interface InstanceOptions {
  env: InstanceEnv;
  routes?: Record<string, RouteConfig>;
  readyTimeoutMs?: number;
}

export interface Instance {
  /** Its own origin, also its DROPGATE_PUBLIC_URL. */
  url: string;
  /** `{url}/api/upload`. */
  endpoint: string;
  output(): string;
  /** Resolves with the exit code (-1 when a signal ended it) once the process is gone. */
  exited: Promise<number>;
  /** Sends a signal; SIGKILL is `kill -9`: no drain, no cleanup. */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM (graceful drain), then SIGKILL after a grace period; resolves when it is gone. */
  stop(): Promise<void>;
}

let configs = 0;
let built: Promise<void> | undefined;

export async function startInstance(options: InstanceOptions): Promise<Instance> {
  // bin/dropgate.js runs dist/: rebuilt when a source is newer, checked once per test file so
  // that an edit elsewhere mid-run does not rebuild under running instances.
  built ??= ensureBuilt();
  await built;
  const dir = options.env.DROPGATE_DATA_DIR;
  await mkdir(dir, { recursive: true });
  const config = join(dir, `dropgate.config.${process.pid}-${++configs}.json`);
  await writeFile(config, JSON.stringify({ routes: options.routes ?? { default: {} } }));
  const serve = await startServeProcess({
    env: options.env,
    args: ['--config', config],
    cwd: dir,
    readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
  });
  return {
    url: serve.url,
    endpoint: `${serve.url}/api/upload`,
    output: () => serve.stdout() + serve.stderr(),
    exited: serve.exited,
    kill: (signal) => serve.child.kill(signal),
    stop: async () => void (await serve.stop(5000)),
  };
}
