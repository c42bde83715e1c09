/**
 * The sweeper runs on every instance, yet handles each expired upload once: two gateways sharing
 * one PostgreSQL ledger and one disk folder sweep at the same moment. Uploads whose bytes landed
 * are completed, the rest (single PUTs and multipart) are expired and released, and the counters
 * add up exactly — a double-handled upload would show up as one sweep result too many.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresLedger } from '../src/ledger/postgres.js';
import type { Ledger } from '../src/ledger/types.js';
import type { LogEntry } from '../src/server/config.js';
import { createDropgate, type Dropgate } from '../src/server/gateway.js';
import type { SweepResult } from '../src/server/sweeper.js';
import { createDiskStorage } from '../src/storage/disk.js';
import { BASE, fileOf, ORIGIN } from './helpers/harness.js';
import { gatewayRequest, jsonOf } from './helpers/requests.js';
import { createTestSchema, postgresProblem, requireService, TEST_DATABASE_URL, type TestSchema } from './helpers/services.js';

const available = await requireService('PostgreSQL', postgresProblem);

const SINGLE = 240; // more than two sweep batches (100), so both instances find work
const MULTIPART = 10;
const SIZE = 64;

describe.skipIf(!available)('sweeping from two instances on one PostgreSQL ledger', () => {
  let schema: TestSchema;
  let dir: string;
  const ledgers: Ledger[] = [];
  const logs: LogEntry[] = [];
  const clock = { now: new Date('2026-11-24T12:00:00Z') };

  function instance(): Dropgate {
    const ledger = createPostgresLedger({ connectionString: TEST_DATABASE_URL, schema: schema.name, max: 4 });
    ledgers.push(ledger);
    const now = () => clock.now;
    return createDropgate({
      storage: createDiskStorage({
        directory: dir,
        secret: 'shared-secret-0123456789abcdef012345',
        baseUrl: `${ORIGIN}${BASE}/_disk`,
        now,
      }),
      ledger,
      publicUrl: ORIGIN,
      authenticate: (req) => ({ userId: req.header('x-test-user') ?? 'nobody' }),
      routes: {
        default: {
          uploadLifetime: 60,
          maxPendingUploads: 1000,
          rateLimit: { perUserPerMinute: 10_000, perIpPerMinute: 10_000 },
        },
      },
      log: (entry) => logs.push(entry),
      now,
    });
  }

  beforeAll(async () => {
    schema = await createTestSchema();
    dir = await mkdtemp(join(tmpdir(), 'dropgate-sweep-'));
  });
  afterAll(async () => {
    for (const ledger of ledgers) await ledger.close().catch(() => {});
    await schema?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('handles each expired upload exactly once', async () => {
    const [a, b] = [instance(), instance()];
    await ledgers[0]!.migrate();
    const sign = async (gateway: Dropgate, multipart: boolean) => {
      const response = await gateway.handle(
        gatewayRequest('POST', BASE, { json: { size: SIZE, contentType: 'video/mp4', multipart }, headers: { 'x-test-user': 'alice' } }),
      );
      expect(response.status).toBe(200);
      return jsonOf<{ uploadId: string; key: string; presignedUrl?: string; headers: Record<string, string> }>(response);
    };
    const singles = await Promise.all(Array.from({ length: SINGLE }, (_, i) => sign(i % 2 ? a : b, false)));
    await Promise.all(Array.from({ length: MULTIPART }, (_, i) => sign(i % 2 ? a : b, true)));

    // Every other single PUT lands — through the instance that did not sign it — and nobody completes.
    const landed = singles.filter((_, i) => i % 2 === 0);
    for (const [i, signed] of landed.entries()) {
      const url = new URL(signed.presignedUrl ?? '');
      const put = await (i % 2 ? b : a).handle(
        gatewayRequest('PUT', url.pathname + url.search, { body: fileOf('video/mp4', SIZE), headers: signed.headers }),
      );
      expect(put.status).toBe(200);
    }

    clock.now = new Date(clock.now.getTime() + 120_000);
    const results = await Promise.all([a.sweep(), b.sweep(), a.sweep(), b.sweep()]);
    const total = (key: keyof SweepResult, which: SweepResult[] = results) => which.reduce((sum, r) => sum + r[key], 0);
    expect({ completed: total('completed'), expired: total('expired'), failed: total('failed') }).toEqual({
      completed: landed.length,
      expired: SINGLE - landed.length + MULTIPART,
      failed: 0,
    });
    const handledBy = (which: SweepResult[]) => total('completed', which) + total('expired', which);
    expect(handledBy([results[0]!, results[2]!])).toBeGreaterThan(0);
    expect(handledBy([results[1]!, results[3]!])).toBeGreaterThan(0);
    expect(logs.filter((l) => l.level !== 'info')).toEqual([]);

    const ledger = ledgers[1]!;
    const period = '2026-11-24';
    expect(await ledger.usage('alice', 'default', period)).toEqual({ usedBytes: landed.length * SIZE, reservedBytes: 0 });
    expect(await ledger.pendingCount('alice', 'default')).toBe(0);
    const statuses = await Promise.all(singles.map(async (s) => (await ledger.getUpload(s.uploadId))?.status));
    expect(statuses).toEqual(singles.map((_, i) => (i % 2 === 0 ? 'completed' : 'expired')));
    // A second pass from both finds nothing left.
    expect(await Promise.all([a.sweep(), b.sweep()])).toEqual([
      { completed: 0, expired: 0, failed: 0 },
      { completed: 0, expired: 0, failed: 0 },
    ]);
  });
});
