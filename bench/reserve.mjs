/**
 * reserve: what one quota reservation costs on PGlite's event loop, in-process, and what batching
 * would buy. PGlite runs Postgres (WebAssembly) on the calling thread, so the time a reservation
 * takes is time the gateway's event loop serves nobody: its inverse is PGlite's ceiling in
 * reservations per second, whatever the HTTP side does.
 *   tx-7       the reservation as it was before migration 3 (commit 1da2ac0): BEGIN, two inserts of
 *              the counter rows, two conditional UPDATEs, the INSERT of the upload, COMMIT — the
 *              "before" of the one-statement reservation, in the same invocation
 *   ledger     `ledger.reserve()` as the gateway calls it, one after another (PGlite on disk, as
 *              `dropgate serve` without DATABASE_URL keeps it in the data folder)
 *   ledger-cN  the same with N calls in flight at once (--concurrency, default 50, as the endpoint
 *              bench's 50 connections): the ledger batches the ones that wait (reserve-batch.ts)
 *   batch-K    K reservations in one statement: the same `dropgate_reserve` function (migration 3)
 *              applied to K rows of a VALUES list, the way a batching ledger would send the
 *              reservations that arrived while the previous batch ran. Each reservation is still
 *              checked and counted on its own; a batch is one transaction.
 * Every reservation is a new upload of one of --users users (round-robin). Runs are interleaved.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PGlite } from '@electric-sql/pglite';
import { createSqlLedger, MIGRATIONS, pgliteDriver } from '../dist/ledger/index.js';
import { reserveBatchSql } from '../dist/ledger/sql-rows.js';
import { fmt, save, summary } from './stats.mjs';

const ALLOWANCE = 1e15;
let n = 0;
function input(users) {
  const id = randomUUID();
  return {
    id,
    userId: `bench-user${n++ % users}`,
    route: 'default',
    key: `default/${id}.mp4`,
    size: 10_485_760,
    contentType: 'video/mp4',
    name: 'clip.mp4',
    checksum: null,
    metadata: null,
    visibility: 'private',
    period: 'total',
    multipartId: null,
    partSize: null,
    partCount: null,
    expiresAt: new Date(Date.now() + 86_400_000),
    allowanceBytes: ALLOWANCE,
    pendingCap: 1e9,
  };
}

/** The pre-migration-3 reservation (sql-ledger.ts at 1da2ac0), success path, through the same driver. */
async function reserveTx7(driver, u) {
  return driver.transaction(async (tx) => {
    await tx.query('INSERT INTO pending_counts (user_id, route) VALUES ($1, $2) ON CONFLICT DO NOTHING', [u.userId, u.route]);
    await tx.query('INSERT INTO allowance_usage (user_id, route, period) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
      u.userId,
      u.route,
      u.period,
    ]);
    const slot = await tx.query(
      'UPDATE pending_counts SET pending = pending + 1 WHERE user_id = $1 AND route = $2 AND pending < $3::bigint RETURNING pending',
      [u.userId, u.route, u.pendingCap],
    );
    const room = await tx.query(
      `UPDATE allowance_usage SET reserved_bytes = reserved_bytes + $4::bigint
       WHERE user_id = $1 AND route = $2 AND period = $3 AND used_bytes + reserved_bytes + $4::bigint <= $5::bigint
       RETURNING reserved_bytes`,
      [u.userId, u.route, u.period, u.size, u.allowanceBytes],
    );
    if (slot.rows.length === 0 || room.rows.length === 0) throw new Error('refused');
    await tx.query(
      `INSERT INTO uploads (id, user_id, route, key, size, content_type, name, checksum, metadata, visibility, status, period,
                            multipart_id, part_size, part_count, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, 'pending', $11, $12, $13, $14, $15) RETURNING *`,
      paramsOf(u).slice(0, 15),
    );
  });
}

const paramsOf = (u) => [
  u.id,
  u.userId,
  u.route,
  u.key,
  u.size,
  u.contentType,
  u.name,
  null,
  null,
  u.visibility,
  u.period,
  null,
  null,
  null,
  u.expiresAt,
  u.allowanceBytes,
  u.pendingCap,
];

async function open(dir) {
  const db = await PGlite.create(mkdtempSync(join(dir, 'pglite-')));
  const driver = pgliteDriver(db);
  const ledger = createSqlLedger(driver);
  await ledger.migrate();
  return { db, driver, ledger };
}

/** Reservations per second and the event loop's busy share while making `count` of them. */
async function measure(fn, count, per) {
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  for (let done = 0; done < count; done += per) await fn();
  const ms = performance.now() - t0;
  const elu = performance.eventLoopUtilization(elu0).utilization;
  return { perSecond: (count / ms) * 1000, usPerReserve: (ms * 1000) / count, elu };
}

export async function run(flags) {
  const hasFunction = MIGRATIONS.some((m) => m.sql.includes('dropgate_reserve'));
  const batches = hasFunction ? String(flags.batch).split(',').map(Number) : [];
  const concurrent = `ledger-c${flags.concurrency}`;
  const contenders = ['tx-7', 'ledger', concurrent, ...batches.map((k) => `batch-${k}`)];
  console.log(
    `reserve: ${flags.runs} runs × ${flags.count} reservations per contender, ${flags.users} users, PGlite on disk (fresh data folder per run)${hasFunction ? '' : '; no dropgate_reserve function in this build, so no batch contenders'}`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'dropgate-bench-reserve-'));
  const samples = Object.fromEntries(contenders.map((c) => [c, { perSecond: [], usPerReserve: [], elu: [] }]));
  try {
    for (let r = 0; r < flags.runs; r++) {
      for (const c of contenders) {
        const { db, driver, ledger } = await open(dir);
        try {
          let fn;
          let per = 1;
          const reserve = async () => {
            const result = await ledger.reserve(input(flags.users));
            if (!result.ok) throw new Error(`refused: ${JSON.stringify(result)}`);
          };
          if (c === 'tx-7') {
            fn = () => reserveTx7(driver, input(flags.users));
          } else if (c === 'ledger') {
            fn = reserve;
          } else if (c === concurrent) {
            per = flags.concurrency;
            fn = () => Promise.all(Array.from({ length: per }, reserve));
          } else {
            per = Number(c.slice('batch-'.length));
            const sql = reserveBatchSql(per); // the statement the ledger's batcher sends
            fn = async () => {
              const { rows } = await db.query(sql, Array.from({ length: per }, () => paramsOf(input(flags.users))).flat());
              if (rows.length !== per || rows.some((row) => row.r_outcome !== 'ok')) throw new Error(`refused: ${JSON.stringify(rows[0])}`);
            };
          }
          for (let w = 0; w < 200; w += per) await fn(); // warm-up: plans cached, rows for every user exist
          const m = await measure(fn, flags.count, per);
          for (const k of Object.keys(m)) samples[c][k].push(m[k]);
          console.log(
            `run ${r + 1} ${c.padEnd(10)} ${fmt(m.perSecond).padStart(8)} reservations/s  ${m.usPerReserve.toFixed(0)} µs each  event loop busy ${(100 * m.elu).toFixed(0)}%`,
          );
        } finally {
          await db.close();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const results = Object.fromEntries(
    contenders.map((c) => [
      c,
      { perSecond: summary(samples[c].perSecond), usPerReserve: summary(samples[c].usPerReserve), elu: summary(samples[c].elu) },
    ]),
  );
  for (const c of contenders) {
    const { perSecond: s, usPerReserve: u } = results[c];
    console.log(
      `${c.padEnd(10)} median ${fmt(s.median).padStart(8)} reservations/s (min ${fmt(s.min)}, max ${fmt(s.max)})  ${u.median.toFixed(0)} µs each (${u.min.toFixed(0)}–${u.max.toFixed(0)})`,
    );
  }
  const ratios = {
    'reserve-ledger-vs-tx-7': results.ledger.perSecond.median / results['tx-7'].perSecond.median,
    [`reserve-${concurrent}-vs-ledger`]: results[concurrent].perSecond.median / results.ledger.perSecond.median,
  };
  for (const k of batches)
    ratios[`reserve-batch-${k}-vs-ledger`] = results[`batch-${k}`].perSecond.median / results.ledger.perSecond.median;
  save('reserve', { flags, results, ratios });
  for (const [name, v] of Object.entries(ratios)) console.log(`RATIO ${name} ${v.toFixed(3)}`);
  console.log(`VALUE reserve-pglite-tx-7-cost ${results['tx-7'].usPerReserve.median.toFixed(0)} µs`);
  console.log(`VALUE reserve-pglite-cost ${results.ledger.usPerReserve.median.toFixed(0)} µs`);
  console.log(`VALUE reserve-pglite-ceiling ${Math.round(results.ledger.perSecond.median)} reservations/s`);
  console.log(`VALUE reserve-pglite-${concurrent}-cost ${results[concurrent].usPerReserve.median.toFixed(0)} µs`);
  for (const k of batches) console.log(`VALUE reserve-pglite-batch-${k}-cost ${results[`batch-${k}`].usPerReserve.median.toFixed(0)} µs`);
}
