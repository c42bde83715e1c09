/**
 * endpoint: POST /api/upload under autocannon (run in its own process: a worker of this one is not
 * enough, so `npx autocannon`-style: a child Node process), 50 connections on loopback.
 *   full-pg      `dropgate serve`: API keys, Redis rate limit, PostgreSQL ledger (fresh schema), S3 (RGW) presign
 *   full-pglite  the same with the PGlite ledger (fresh data folder)
 *   sign-only    the same gateway with a no-op ledger (bench/endpoint-server.mjs)
 *   bare         a node:http JSON endpoint (the ceiling)
 *   seed-next    the seed document's Next.js App Router route (AWS SDK presign, no auth, no quota) in
 *                bench/seed-next, `next build` then `next start`; installed and built on first use
 *                (`npm install --prefix bench/seed-next`), never by the root install or npm test
 * Each run starts a fresh server, waits until it answers, warms it up under the same load for
 * --warmup seconds (not measured), then loads it for --duration seconds.
 * Requests rotate over --users API keys (default 50): with one user, every reservation waits on
 * that user's allowance row lock, which measures the lock, not the pipeline (--users 1 shows it).
 * Runs are interleaved across configurations. Limits that would stop a load test (rate limit,
 * pending cap, allowance) are raised in the route so every request does the full work.
 * Each run also reports the CPU one request cost in each process (bench/cpu.mjs): on a machine
 * whose cores are all busy, that is what bounds the throughput.
 * `--baseline DIR` (a tree of an earlier commit with its dist/ built, e.g. `git archive C | tar -x
 * -C DIR`, node_modules linked, `npm run build`) adds the dropgate configurations run from there,
 * as NAME@base: before/after in one invocation.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, stopChild, track } from './children.mjs';
import { cpuSince, cpuSnapshot } from './cpu.mjs';
import { fmt, save, summary } from './stats.mjs';

const ROOT = new URL('../', import.meta.url).pathname;
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const TOKEN = randomBytes(12).toString('hex');
const keyOf = (i) => `bench-${TOKEN}-user${i}`;
const BIG = 1_000_000_000;
const ROUTES = {
  routes: {
    default: {
      maxSize: '1GiB',
      allowedTypes: ['video/*'],
      allowance: { bytes: '1000000GiB', period: 'total' },
      rateLimit: { perUserPerMinute: BIG, perIpPerMinute: BIG },
      maxPendingUploads: BIG,
    },
  },
};
const BODY = JSON.stringify({ size: 10_485_760, contentType: 'video/mp4', name: 'clip.mp4' });

function rgwEnv() {
  const env = {};
  for (const line of readFileSync('/tmp/dropgate-rgw/env', 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  return env;
}

async function freshSchema() {
  const schema = `bench_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.end();
  const url = new URL(DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { url: url.toString(), schema };
}

async function dropSchema(schema) {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA ${schema} CASCADE`);
  await client.end();
}

/** `--prof DIR`: the server under test writes a CPU profile there (`node bench/profile-top.mjs` reads it). */
const profArgs = (flags) => (flags.prof ? ['--cpu-prof', `--cpu-prof-dir=${flags.prof}`] : []);

const SEED = join(ROOT, 'bench/seed-next');
const NEXT_BIN = join(SEED, 'node_modules/next/dist/bin/next');

/** Installs bench/seed-next on first use, and builds it when its route is newer than its build. */
function prepareSeedNext() {
  const run = (cmd, args, what) => {
    console.log(`seed-next: ${what}`);
    const r = spawnSync(cmd, args, {
      cwd: SEED,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    });
    if (r.status !== 0) throw new Error(`seed-next: ${what} failed (${r.status})`);
  };
  if (!existsSync(NEXT_BIN)) run('npm', ['install', '--prefix', SEED, '--no-audit', '--no-fund'], 'npm install --prefix bench/seed-next');
  const built = join(SEED, '.next/BUILD_ID');
  const sources = ['app/api/upload/route.ts', 'app/layout.tsx', 'next.config.mjs', 'package.json'].map(
    (f) => statSync(join(SEED, f)).mtimeMs,
  );
  if (!existsSync(built) || statSync(built).mtimeMs < Math.max(...sources)) run(process.execPath, [NEXT_BIN, 'build'], 'next build');
}

/** Starts one configuration; resolves with { url, stop }. */
const keys = (n) => Array.from({ length: n }, (_, i) => keyOf(i));

async function start(contender, dir, flags) {
  // NAME@base: the same configuration on the build in --baseline (an earlier commit's tree).
  const [config, base] = contender.split('@');
  const root = base === undefined ? ROOT : flags.baseline;
  const port = await freePort();
  const env = {
    ...process.env,
    ...rgwEnv(),
    DROPGATE_STORAGE: 's3',
    REDIS_URL,
    PORT: String(port),
    BENCH_KEYS: keys(flags.users).join(','),
    BENCH_ROUTES: JSON.stringify(ROUTES),
  };
  let schema;
  let child;
  if (config === 'seed-next') {
    // The seed reads its bucket and region from these; the S3 client takes S3_ENDPOINT and the
    // standard AWS_* credentials from the RGW settings above.
    Object.assign(env, { REMOTION_AWS_BUCKET_NAME: env.S3_BUCKET, REMOTION_AWS_REGION: env.S3_REGION, NEXT_TELEMETRY_DISABLED: '1' });
    child = track(
      spawn(process.execPath, [...profArgs(flags), NEXT_BIN, 'start', '-p', String(port), '-H', '127.0.0.1'], {
        cwd: SEED,
        env,
        stdio: ['ignore', 'ignore', 'inherit'],
      }),
    );
  } else if (config === 'bare' || config === 'sign-only') {
    child = track(
      spawn(process.execPath, [...profArgs(flags), join(ROOT, 'bench/endpoint-server.mjs'), config, String(port)], {
        env: { ...env, BENCH_DIST: join(root, 'dist') },
        stdio: ['ignore', 'ignore', 'inherit'],
      }),
    );
  } else {
    const data = mkdtempSync(join(dir, `${config}-`));
    Object.assign(env, {
      DROPGATE_API_KEYS: keys(flags.users)
        .map((k, i) => `${k}:bench-user${i}`)
        .join(','),
      DROPGATE_DATA_DIR: data,
    });
    if (config === 'full-pg') {
      const fresh = await freshSchema();
      schema = fresh.schema;
      env.DATABASE_URL = fresh.url;
    } else delete env.DATABASE_URL;
    const configFile = join(data, 'dropgate.config.json');
    (await import('node:fs')).writeFileSync(configFile, JSON.stringify(ROUTES));
    // Logs go nowhere: one JSON line per request would be part of what we measure otherwise.
    child = track(
      spawn(
        process.execPath,
        [...profArgs(flags), join(root, 'bin/dropgate.js'), 'serve', '--config', configFile, '--port', String(port)],
        {
          env,
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      ),
    );
  }
  const url = `http://127.0.0.1:${port}/api/upload`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${config} exited with ${child.exitCode}`);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${keyOf(0)}`, 'content-type': 'application/json' },
        body: BODY,
      });
      const text = await res.text();
      if (res.status === 200) break;
      if (res.status !== 503) throw new Error(`${config}: ${res.status} ${text}`);
    } catch (error) {
      if (String(error).includes(`${config}:`)) throw error;
    }
    if (Date.now() > deadline) throw new Error(`${config} did not answer in 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    pid: child.pid,
    async stop() {
      await stopChild(child, 10_000);
      if (schema) await dropSchema(schema).catch(() => {});
    },
  };
}

/** autocannon in a child process, so the load generator does not share the server's core. */
function load(url, flags, seconds = flags.duration) {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(process.execPath, [join(ROOT, 'bench/load-child.mjs'), url, String(flags.connections), String(seconds), BODY], {
        env: { ...process.env, BENCH_KEYS: keys(flags.users).join(',') },
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    );
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    const kill = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.on('exit', () => {
      clearTimeout(kill);
      try {
        resolve(JSON.parse(out));
      } catch (error) {
        reject(new Error(`autocannon gave no JSON: ${out.slice(0, 200)} ${error}`));
      }
    });
  });
}

export async function run(flags) {
  const configs = flags.only ? flags.only.split(',') : ['full-pg', 'full-pglite', 'sign-only', 'bare', 'seed-next'];
  // --baseline DIR: the dropgate configurations again on the build in DIR, as NAME@base.
  if (flags.baseline) {
    for (const c of configs.filter((c) => c.startsWith('full-') || c === 'sign-only')) configs.push(`${c}@base`);
  }
  if (configs.includes('seed-next')) prepareSeedNext();
  const dir = mkdtempSync(join(tmpdir(), 'dropgate-bench-'));
  console.log(
    `endpoint: ${flags.runs} runs × ${flags.duration} s (after ${flags.warmup} s of warm-up), ${flags.connections} connections, ${flags.users} users (API keys, round-robin), configs ${configs.join(', ')}; body ${BODY}`,
  );
  const CPU = ['server', 'load', 'postgres', 'redis', 'ceph', 'rest'];
  const samples = Object.fromEntries(
    configs.map((c) => [
      c,
      { rps: [], p50: [], p99: [], non2xx: 0, errors: 0, machineBusy: [], cpu: Object.fromEntries(CPU.map((k) => [k, []])) },
    ]),
  );
  try {
    for (let r = 0; r < flags.runs; r++) {
      for (const config of configs) {
        const server = await start(config, dir, flags);
        try {
          // Unmeasured warm-up: every server is compiled by the JIT before the clock starts.
          if (flags.warmup > 0) await load(server.url, flags, flags.warmup);
          const before = cpuSnapshot(server.pid);
          const result = await load(server.url, flags);
          const cpu = cpuSince(before, cpuSnapshot(server.pid));
          const s = samples[config];
          for (const k of CPU) s.cpu[k].push(cpu[k] / result.requests.total);
          s.machineBusy.push(cpu.machineBusy);
          s.rps.push(result.requests.average);
          s.p50.push(result.latency.p50);
          s.p99.push(result.latency.p99);
          s.non2xx += result.non2xx;
          s.errors += result.errors + result.timeouts;
          console.log(
            `run ${r + 1} ${config.padEnd(12)} ${fmt(result.requests.average).padStart(8)} req/s  p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms  non-2xx ${result.non2xx}  errors ${result.errors + result.timeouts}`,
          );
          console.log(
            `      CPU ms per request: ${CPU.map((k) => `${k} ${(cpu[k] / result.requests.total).toFixed(3)}`).join(', ')}; machine ${(100 * cpu.machineBusy).toFixed(0)}% busy`,
          );
        } finally {
          await server.stop();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const results = {};
  for (const config of configs) {
    const s = samples[config];
    results[config] = {
      rps: summary(s.rps),
      p50: summary(s.p50),
      p99: summary(s.p99),
      non2xx: s.non2xx,
      errors: s.errors,
      cpuMsPerRequest: Object.fromEntries(CPU.map((k) => [k, summary(s.cpu[k])])),
      machineBusy: summary(s.machineBusy),
    };
    const { rps, p50, p99 } = results[config];
    console.log(
      `${config.padEnd(12)} median ${fmt(rps.median).padStart(8)} req/s (min ${fmt(rps.min)}, max ${fmt(rps.max)})  p50 ${p50.median} ms (${p50.min}–${p50.max})  p99 ${p99.median} ms (${p99.min}–${p99.max})  non-2xx ${s.non2xx}`,
    );
    const cpu = results[config].cpuMsPerRequest;
    console.log(
      `${''.padEnd(12)} median CPU ms per request: ${CPU.map((k) => `${k} ${cpu[k].median.toFixed(3)}`).join(', ')}; machine ${(100 * results[config].machineBusy.median).toFixed(0)}% busy`,
    );
  }
  const ratios = {};
  if (results.bare) {
    for (const c of configs.filter((c) => c !== 'bare')) ratios[`endpoint-${c}-vs-bare`] = results[c].rps.median / results.bare.rps.median;
  }
  if (results['seed-next']) {
    for (const c of configs.filter((c) => c.startsWith('full-')))
      ratios[`endpoint-${c}-vs-seed-next`] = results[c].rps.median / results['seed-next'].rps.median;
  }
  save(flags.baseline ? 'endpoint-baseline' : flags.users === 1 ? 'endpoint-1user' : 'endpoint', { flags, results, ratios });
  if (ratios['endpoint-sign-only-vs-bare'] !== undefined)
    console.log(`bar: sign-only ≥ 50% of bare: ${ratios['endpoint-sign-only-vs-bare'] >= 0.5 ? 'met' : 'MISSED'}`);
  if (results['full-pg']) console.log(`bar: full-pg p99 ≤ 25 ms: ${results['full-pg'].p99.median <= 25 ? 'met' : 'MISSED'}`);
  if (ratios['endpoint-full-pg-vs-seed-next'] !== undefined)
    console.log(`bar: full-pg ≥ 5× the seed's Next.js route: ${ratios['endpoint-full-pg-vs-seed-next'] >= 5 ? 'met' : 'MISSED'}`);
  for (const [name, v] of Object.entries(ratios)) console.log(`RATIO ${name} ${v.toFixed(3)}`);
  for (const c of configs) {
    console.log(`VALUE endpoint-${c}-rps ${Math.round(results[c].rps.median)} req/s`);
    console.log(`VALUE endpoint-${c}-p50 ${results[c].p50.median} ms`);
    console.log(`VALUE endpoint-${c}-p99 ${results[c].p99.median} ms`);
  }
}
