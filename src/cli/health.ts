/**
 * `GET /healthz` (can this instance reach what it depends on?) and `GET /readyz` (should the load
 * balancer send it traffic?). Checks run in parallel, each bounded, so a hung dependency makes a
 * fast 503, not a probe timeout.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Ledger } from '../ledger/types.js';
import type { Logger } from '../server/config.js';
import { DropgateError } from '../shared/errors.js';
import type { GatewayResponse } from '../shared/http.js';
import { json } from '../shared/http.js';
import type { Storage } from '../storage/types.js';

/** Resolves when the dependency answers, throws when it does not. */
export type HealthCheck = () => Promise<unknown>;

const TIMEOUT_MS = 2000;

/** The ledger answers `SELECT 1`. */
export const ledgerCheck =
  (ledger: Ledger): HealthCheck =>
  () =>
    ledger.ping();

/**
 * The disk store can write: a probe file is written and removed in its temp folder (the same
 * filesystem as the objects), which catches read-only mounts, lost permissions and a full disk.
 */
export const diskCheck =
  (directory: string): HealthCheck =>
  async () => {
    const tmp = join(directory, '.tmp');
    await mkdir(tmp, { recursive: true });
    const probe = join(tmp, `health-${randomBytes(6).toString('hex')}`);
    await writeFile(probe, 'ok');
    await unlink(probe);
  };

/** Any other store answers a HEAD for a key that is never written (absent is an answer too). */
export const storageCheck =
  (storage: Storage): HealthCheck =>
  () =>
    storage.head('.dropgate/health-probe');

/** Redis answers PING. */
export const redisCheck =
  (client: { ping(): Promise<unknown> }): HealthCheck =>
  () =>
    client.ping();

function bounded(check: HealthCheck): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  });
  return Promise.race([check(), timeout]).finally(() => clearTimeout(timer));
}

/**
 * Runs every check: 200 `{status:'ok', checks}` when all pass, else 503 naming the failed ones.
 * Answers carry only check names and error codes; the details go to the log, not to whoever polls.
 * @example await healthz({ ledger: ledgerCheck(ledger), storage: diskCheck(dir) }, log)
 */
export async function healthz(checks: Record<string, HealthCheck>, log: Logger): Promise<GatewayResponse> {
  const names = Object.keys(checks);
  const results = await Promise.all(
    names.map(async (name) => {
      const started = performance.now();
      try {
        await bounded(checks[name]!);
        return [name, { ok: true, ms: Math.round(performance.now() - started) }] as const;
      } catch (error) {
        log({ level: 'warn', msg: 'health check failed', check: name, error: String(error) });
        const code = error instanceof DropgateError ? error.code : 'UNREACHABLE';
        return [name, { ok: false, error: code }] as const;
      }
    }),
  );
  const ok = results.every(([, result]) => result.ok);
  return json(ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', checks: Object.fromEntries(results) });
}

export type Readiness = 'starting' | 'ready' | 'draining';

/** 200 only while ready; a draining instance says so at once, so the balancer stops sending work. */
export function readyz(state: Readiness): GatewayResponse {
  return json(state === 'ready' ? 200 : 503, { status: state }, state === 'ready' ? {} : { 'retry-after': '1' });
}
