/**
 * The multi-instance proof's heavier steps: traffic with a `kill -9` in the middle, the ledger's
 * counters next to the sums of its rows, and a sweep "days later" from an in-process gateway.
 */
import { join } from 'node:path';
import { createPostgresLedger } from '../../src/ledger/postgres.js';
import type { RouteConfig } from '../../src/server/config.js';
import { createDropgate } from '../../src/server/gateway.js';
import type { SweepResult } from '../../src/server/sweeper.js';
import { createDiskStorage } from '../../src/storage/disk.js';
import { fileOf } from './harness.js';
import type { Instance, InstanceEnv } from './instance.js';
import { adminQuery, TEST_DATABASE_URL, type TestSchema } from './services.js';
import { type ApiClient, type UploadOutcome, uploadThrough } from './traffic.js';

export interface TrafficReport {
  outcomes: UploadOutcome[];
  errors: string[];
  /** Uploads started after the kill that completed. */
  completedAfterKill: number;
}

/**
 * `workers` clients upload in a loop over all instances; once `killAfter` uploads have finished,
 * `victim` gets SIGKILL mid-traffic, and the loop goes on until `uploadsAfterKill` more complete
 * (or 45 s pass).
 */
export async function killMidTraffic(options: {
  client: ApiClient;
  victim: Instance;
  killAfter: number;
  uploadsAfterKill: number;
  workers: number;
}): Promise<TrafficReport> {
  const report: TrafficReport = { outcomes: [], errors: [], completedAfterKill: 0 };
  const deadline = Date.now() + 45_000;
  let killed = false;
  let next = 0;
  const worker = async () => {
    while (Date.now() < deadline && !(killed && report.completedAfterKill >= options.uploadsAfterKill)) {
      const n = next++;
      const afterKill = killed;
      try {
        // Sizes differ, so that the byte sums below would notice a swapped or double-counted upload.
        const outcome = await uploadThrough(options.client, n % 2, fileOf('video/mp4', 1000 + n));
        report.outcomes.push(outcome);
        if (afterKill && outcome.result === 'completed') report.completedAfterKill += 1;
      } catch (error) {
        report.errors.push(`upload #${n}: ${(error as Error).message}`);
      }
      if (!killed && report.outcomes.length >= options.killAfter) {
        killed = true;
        options.victim.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: options.workers }, worker));
  if (!killed) report.errors.push('traffic ended before the kill');
  await options.victim.exited;
  return report;
}

export interface LedgerTotals {
  /** allowance_usage, summed over the user's routes and periods. */
  usedBytes: number;
  reservedBytes: number;
  /** pending_counts, summed over the user's routes. */
  pending: number;
  /** The same, recomputed from the uploads' rows. */
  completedBytes: number;
  pendingBytes: number;
  pendingRows: number;
}

/** The ledger's counters for a user next to what its upload rows say they should be. */
export async function ledgerTotals(url: string, userId: string): Promise<LedgerTotals> {
  const [row] = await adminQuery<Record<keyof LedgerTotals, string>>(
    url,
    `SELECT
       (SELECT coalesce(sum(used_bytes), 0) FROM allowance_usage WHERE user_id = $1) AS "usedBytes",
       (SELECT coalesce(sum(reserved_bytes), 0) FROM allowance_usage WHERE user_id = $1) AS "reservedBytes",
       (SELECT coalesce(sum(pending), 0) FROM pending_counts WHERE user_id = $1) AS "pending",
       (SELECT coalesce(sum(size), 0) FROM uploads WHERE user_id = $1 AND status = 'completed' AND deleted_at IS NULL) AS "completedBytes",
       (SELECT coalesce(sum(size), 0) FROM uploads WHERE user_id = $1 AND status = 'pending') AS "pendingBytes",
       (SELECT count(*) FROM uploads WHERE user_id = $1 AND status = 'pending') AS "pendingRows"`,
    [userId],
  );
  if (!row) throw new Error('no totals');
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)])) as unknown as LedgerTotals;
}

/**
 * One sweep as a gateway would run it at `now` (days later), over the instances' ledger schema and
 * disk folder: what a kill left pending is completed if its bytes landed, or released.
 */
export async function sweepAsOf(
  schema: TestSchema,
  env: InstanceEnv,
  now: Date,
  routes?: Record<string, RouteConfig>,
): Promise<SweepResult> {
  const ledger = createPostgresLedger({ connectionString: TEST_DATABASE_URL, schema: schema.name, max: 2 });
  try {
    const gateway = createDropgate({
      storage: createDiskStorage({
        directory: join(env.DROPGATE_DATA_DIR, 'files'),
        secret: env.DROPGATE_SECRET,
        baseUrl: 'http://127.0.0.1/api/upload/_disk',
        now: () => now,
      }),
      ledger,
      authenticate: () => null,
      ...(routes ? { routes } : {}),
      now: () => now,
    });
    return await gateway.sweep();
  } finally {
    await ledger.close();
  }
}
