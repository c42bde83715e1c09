/**
 * load: what the gateway costs while --clients uploaders (default 8, each a process of its own)
 * send --total bytes between them (default 2 GiB: 8 × 256 MiB) at once, in S3 mode on RGW.
 *   pg        `dropgate serve` (bin/dropgate.js): API keys (one user per uploader), the PostgreSQL
 *             ledger (fresh schema; the CPU of its PostgreSQL backends is measured too), in-memory
 *             rate limits, S3 store on RGW. Uploaders: dropgate/client with its defaults
 *             (bench/load-upload.mjs): sign, parts straight to RGW (16 MiB, 4 at once, Content-MD5),
 *             complete. The bytes never pass through the gateway.
 *   pglite    the same with the PGlite ledger in a fresh data folder (in-process: its CPU is the gateway's)
 *   proxy     a plain streaming proxy (bench/load-proxy.mjs): node:http piping each request body to a
 *             presigned PUT on RGW (UNSIGNED-PAYLOAD, no hashing, no buffering). Uploaders: `curl -T`.
 * Each server is fresh per run and first warmed up by the same uploaders sending a 20 MiB file each
 * (through the gateway: in two parts), so that module loading and JIT, paid once per process, are
 * not counted as per-GiB cost; --warm 0 skips that. Measured on the server process, from outside
 * (/proc/<pid>): CPU time (utime + stime) from just before the uploaders start until the last one
 * ends, as CPU-ms per GiB uploaded; peak RSS (VmHWM, since the process started, warm-up included)
 * and RSS before the load. Runs interleaved.
 * `RATIO load-gateway-cpu-vs-proxy` is the proxy's CPU-ms per GiB ÷ the gateway's (pg). Bar: ≥ 20.
 * `--prof DIR`: both servers write CPU profiles there.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { exec, freePort, stopChild, track } from './children.mjs';
import { collectRgwGarbage, rgwEnv, writeFile } from './datapath.mjs';
import { cpuByThreadMs, cpuMs, memoryMB } from './proc.mjs';
import { fmt, save, summary } from './stats.mjs';

const ROOT = new URL('../', import.meta.url).pathname;
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const GiB = 2 ** 30;
const TOKEN = randomBytes(6).toString('hex');
const BIG = 1_000_000_000;
const CONFIG = {
  routes: {
    default: {
      maxSize: '3GiB',
      allowedTypes: ['video/*'],
      allowance: { bytes: '1000000GiB', period: 'total' },
      rateLimit: { perUserPerMinute: BIG, perIpPerMinute: BIG },
      maxPendingUploads: BIG,
    },
  },
};

async function waitFor(child, url, what) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    const ok = await fetch(url).then(
      (res) => res.status === 200,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not answer in 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function sql(text) {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

/** A fresh schema, and an application_name that tells this gateway's PostgreSQL backends apart. */
async function freshDatabase() {
  const schema = `bench_load_${Date.now()}_${randomBytes(3).toString('hex')}`;
  await sql(`CREATE SCHEMA ${schema}`);
  const url = new URL(DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  url.searchParams.set('application_name', schema);
  return {
    url: url.toString(),
    /** CPU-ms of each of the gateway's backends so far (PostgreSQL runs on this machine). */
    async backends() {
      const rows = await sql(`SELECT pid FROM pg_stat_activity WHERE application_name = '${schema}'`);
      const out = new Map();
      for (const { pid } of rows) {
        try {
          out.set(pid, cpuMs(pid));
        } catch {}
      }
      return out;
    },
    drop: () => sql(`DROP SCHEMA ${schema} CASCADE`),
  };
}

const profArgs = (flags, name) => (flags.prof ? ['--cpu-prof', `--cpu-prof-dir=${flags.prof}`, `--cpu-prof-name=${name}`] : []);

/**
 * Warms the server up (flags.warm), then runs the uploads against it, measuring it; returns
 * { cpuMs, peakMB, beforeMB, ms, keys } (keys: every object stored, warm-up included).
 * `upload(path, i, warm)` resolves with the key it stored.
 */
async function measure(flags, files, pid, upload, db) {
  const uploads = (path, warm) => Promise.all(Array.from({ length: flags.clients }, (_, i) => upload(path, i, warm)));
  const warmKeys = [];
  for (let round = 0; round < flags.warm; round++) warmKeys.push(...(await uploads(files.warm, true)));
  // A few seconds after start (and after a burst) V8's memory reducer runs full GCs on an idle
  // process: ~70 ms of the gateway's CPU once, at 4–8 s. Waiting it out keeps that one-off work
  // out of a per-GiB figure; every server waits the same.
  await new Promise((resolve) => setTimeout(resolve, flags.settle * 1000));
  const before = memoryMB(pid);
  const backends0 = await db?.backends();
  const cpu0 = cpuMs(pid);
  const threads0 = cpuByThreadMs(pid);
  const started = performance.now();
  const keys = await uploads(files.main, false);
  const ms = performance.now() - started;
  const cpu = cpuMs(pid) - cpu0;
  const threads = Object.fromEntries(Object.entries(cpuByThreadMs(pid)).map(([kind, ms1]) => [kind, ms1 - threads0[kind]]));
  const m = { cpuMs: cpu, threads, peakMB: memoryMB(pid).peak, beforeMB: before.rss, ms, keys: [...warmKeys, ...keys] };
  if (db) {
    // Backends the pool closed during the load are missed: a lower bound.
    m.dbCpuMs = 0;
    for (const [backend, ms1] of await db.backends()) m.dbCpuMs += ms1 - (backends0.get(backend) ?? 0);
  }
  return m;
}

async function viaDropgate(flags, dir, files, r, ledger) {
  const data = mkdtempSync(join(dir, 'gateway-'));
  const port = await freePort();
  const keys = Array.from({ length: flags.clients }, (_, i) => `bench-${TOKEN}-user${i}`);
  const configFile = join(data, 'dropgate.config.json');
  writeFileSync(configFile, JSON.stringify(CONFIG));
  const env = {
    ...process.env,
    ...rgwEnv(),
    DROPGATE_STORAGE: 's3',
    DROPGATE_DATA_DIR: data,
    DROPGATE_API_KEYS: keys.map((k, i) => `${k}:load-user${i}`).join(','),
  };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const db = ledger === 'pg' ? await freshDatabase() : undefined;
  if (db) env.DATABASE_URL = db.url;
  const child = track(
    spawn(
      process.execPath,
      [
        ...profArgs(flags, `gateway-${ledger}-${r}.cpuprofile`),
        join(ROOT, 'bin/dropgate.js'),
        'serve',
        '--config',
        configFile,
        '--port',
        String(port),
      ],
      {
        env,
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    ),
  );
  try {
    await waitFor(child, `http://127.0.0.1:${port}/healthz`, 'dropgate serve');
    const endpoint = `http://127.0.0.1:${port}/api/upload`;
    const upload = async (file, i, warm) => {
      const args = [join(ROOT, 'bench/load-upload.mjs'), endpoint, file, `load-${i}.mp4`, ...(warm ? ['warm'] : [])];
      // With one uploader the gateway's CPU around each API call is that call's alone: booked by kind.
      const gatewayPid = flags.clients === 1 && !warm ? { BENCH_GATEWAY_PID: String(child.pid) } : {};
      const out = JSON.parse(await exec(process.execPath, args, { env: { BENCH_KEY: keys[i], ...gatewayPid } }));
      if (!warm && out.size !== flags.total / flags.clients) throw new Error(`uploader ${i} uploaded ${out.size} bytes`);
      for (const [kind, ms] of Object.entries(out.calls ?? {})) console.log(`  ${kind}: ${ms.map((v) => v.toFixed(2)).join(' ')} CPU-ms`);
      return out.key;
    };
    return await measure(flags, files, child.pid, upload, db);
  } finally {
    await stopChild(child, 15_000);
    rmSync(data, { recursive: true, force: true });
    await db?.drop().catch(() => {});
  }
}

async function viaProxy(flags, files, r) {
  const child = track(
    spawn(process.execPath, [...profArgs(flags, `proxy-${r}.cpuprofile`), join(ROOT, 'bench/load-proxy.mjs')], {
      env: { ...process.env, ...rgwEnv() },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  try {
    const base = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c) => {
        out += c;
        if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]).url);
      });
      child.once('exit', (code) => reject(new Error(`load-proxy exited ${code}`)));
    });
    const upload = async (file, i, warm) => {
      const key = `bench-load/${TOKEN}-${r}-${i}${warm ? '-warm' : ''}.mp4`;
      const url = `${base}/${encodeURIComponent(key)}`;
      const code = await exec('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-T', file, '-H', 'content-type: video/mp4', url]);
      if (!/^2\d\d$/.test(code.trim())) throw new Error(`proxy PUT answered ${code}`);
      return key;
    };
    return await measure(flags, files, child.pid, upload);
  } finally {
    await stopChild(child, 15_000);
  }
}

export async function run(flags) {
  const perClient = Math.floor(flags.total / flags.clients);
  flags.total = perClient * flags.clients;
  const dir = mkdtempSync(join(tmpdir(), 'dropgate-bench-load-'));
  const files = { main: join(dir, 'data.mp4'), warm: join(dir, 'warm.mp4') };
  // RGW's store here is RAM shared with other tests: every object is deleted after its run.
  const rgw = (await import('../dist/storage/s3.js')).s3FromEnv(rgwEnv());
  const contenders = [...flags.ledgers.split(','), 'proxy'];
  const samples = Object.fromEntries(contenders.map((c) => [c, []]));
  try {
    await writeFile(files.main, perClient);
    await writeFile(files.warm, 20 * 2 ** 20);
    console.log(
      `load: ${flags.runs} runs; ${flags.warm ? 'after a warm-up, ' : ''}${flags.clients} uploaders at once × ${perClient} bytes = ${flags.total} bytes per run, S3 mode on RGW; dropgate serve vs a streaming proxy`,
    );
    for (let r = 0; r < flags.runs; r++) {
      const line = [];
      for (const name of contenders) {
        const m = name === 'proxy' ? await viaProxy(flags, files, r) : await viaDropgate(flags, dir, files, r, name);
        await Promise.all(m.keys.map((key) => rgw.delete(key)));
        await collectRgwGarbage();
        m.cpuMsPerGiB = m.cpuMs / (flags.total / GiB);
        if (m.dbCpuMs !== undefined) m.dbCpuMsPerGiB = m.dbCpuMs / (flags.total / GiB);
        m.mbps = flags.total / 1e6 / (m.ms / 1000);
        samples[name].push(m);
        line.push(
          `${name} ${fmt(m.cpuMsPerGiB)} CPU-ms/GiB${m.dbCpuMsPerGiB === undefined ? '' : ` (+ PostgreSQL ${fmt(m.dbCpuMsPerGiB)})`}, peak RSS ${fmt(m.peakMB)} MB (before ${fmt(m.beforeMB)}), ${fmt(m.mbps)} MB/s; by thread (ms) ${Object.entries(
            m.threads,
          )
            .map(([kind, ms1]) => `${kind} ${fmt(ms1)}`)
            .join(', ')}`,
        );
      }
      console.log(`run ${r + 1}: ${line.join('   ')}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const results = {};
  for (const [name, runs] of Object.entries(samples)) {
    results[name] = {
      cpuMsPerGiB: summary(runs.map((m) => m.cpuMsPerGiB)),
      cpuMs: summary(runs.map((m) => m.cpuMs)),
      peakMB: summary(runs.map((m) => m.peakMB)),
      beforeMB: summary(runs.map((m) => m.beforeMB)),
      mbps: summary(runs.map((m) => m.mbps)),
      ...(runs[0].dbCpuMs === undefined ? {} : { dbCpuMsPerGiB: summary(runs.map((m) => m.dbCpuMsPerGiB)) }),
    };
    const s = results[name];
    console.log(
      `${name.padEnd(8)} median ${fmt(s.cpuMsPerGiB.median)} CPU-ms/GiB (min ${fmt(s.cpuMsPerGiB.min)}, max ${fmt(s.cpuMsPerGiB.max)})${s.dbCpuMsPerGiB ? ` + PostgreSQL ${fmt(s.dbCpuMsPerGiB.median)}` : ''}  peak RSS ${fmt(s.peakMB.median)} MB (${fmt(s.peakMB.min)}–${fmt(s.peakMB.max)}; before ${fmt(s.beforeMB.median)})  ${fmt(s.mbps.median)} MB/s`,
    );
  }
  const proxy = results.proxy;
  const ratios = {};
  for (const ledger of contenders.filter((c) => c !== 'proxy')) {
    const g = results[ledger];
    // The headline (pg) keeps the issue's name; PGlite's and the with-PostgreSQL figures are named.
    const suffix = ledger === 'pg' ? '' : `-${ledger}`;
    ratios[`load-gateway${suffix}-cpu-vs-proxy`] = proxy.cpuMsPerGiB.median / g.cpuMsPerGiB.median;
    if (g.dbCpuMsPerGiB)
      ratios[`load-gateway-with-postgres-cpu-vs-proxy`] = proxy.cpuMsPerGiB.median / (g.cpuMsPerGiB.median + g.dbCpuMsPerGiB.median);
    ratios[`load-gateway${suffix}-peak-rss-vs-proxy`] = proxy.peakMB.median / g.peakMB.median;
  }
  save('load', { flags, results, ratios });
  for (const [name, v] of Object.entries(ratios)) {
    if (name.includes('-cpu-')) console.log(`bar (${name}): ≥ 20× less CPU than the proxy: ${v >= 20 ? 'met' : 'MISSED'}`);
  }
  for (const [name, v] of Object.entries(ratios)) console.log(`RATIO ${name} ${v.toFixed(3)}`);
  for (const name of contenders) {
    const label = name === 'proxy' ? 'proxy' : `gateway-${name}`;
    console.log(`VALUE load-${label}-cpu ${results[name].cpuMsPerGiB.median.toFixed(1)} CPU-ms/GiB`);
    if (results[name].dbCpuMsPerGiB)
      console.log(`VALUE load-${label}-postgres-cpu ${results[name].dbCpuMsPerGiB.median.toFixed(1)} CPU-ms/GiB`);
    console.log(`VALUE load-${label}-peak-rss ${results[name].peakMB.median.toFixed(1)} MB`);
  }
}
