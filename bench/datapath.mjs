/**
 * datapath: a --size byte file (default 1 GiB, random bytes behind an MP4 header) uploaded by
 * dropgate/client (Node, a child process) and by `curl -T` to a presigned single-PUT URL of the same
 * store, signed by the same gateway (`multipart: false`). Two stores (--targets):
 *   disk  the embedded dev stack's disk store: the gateway receives the bytes (hash, write, fsync)
 *   rgw   the S3 store on RGW (/tmp/dropgate-rgw/env): the bytes go to RGW, the gateway only signs
 * Contenders (--contenders):
 *   client  the client's defaults: multipart (16 MiB parts, 4 at once), each part's MD5 signed as Content-MD5
 *   baseline (with --baseline DIR) `client` from another build: DIR/dist/client, for before → after
 *   nohash  the same with `hashPart: false`
 *   single  one PUT from the client (no parts, no hashing), as curl sends it
 *   curl    `curl -T`, one PUT, no checksum; the URL is signed before its clock starts
 *   blob    (not by default) `client` with the file opened by fs.openAsBlob instead of `openFile`
 *   worker  (not by default) `client` with the MD5s in 2 worker_threads (node:crypto, fs reads)
 *   prehashed (not by default) `client` with every MD5 worked out before its clock starts: the
 *           cost of Content-MD5 itself (storage checks it) without the client's hashing
 * The client contenders open the file with the client's `openFile` (node:fs reads).
 * Throughput is bytes ÷ wall time; the client's time covers sign + PUT(s) + complete, curl's only
 * the PUT, which tilts the comparison towards curl. The gateway runs in a process of its own
 * (bench/datapath-server.mjs), fresh for every upload; its CPU time (/proc) is recorded per upload,
 * and the uploader's (process.cpuUsage; curl's through its parent shell's cutime + cstime), and the
 * box's idle CPU share during the upload (/proc/stat: whether another thread would find a free
 * core). Runs interleaved, each run starting one contender later, and every upload starting after a
 * `sync` (the last one's deleted files flushed). Bar: client ≥ 90% of curl's throughput.
 * `--prof DIR`: client and gateway write CPU profiles there (bench/profile-top.mjs reads them).
 * `--baseline DIR`: adds the `baseline` contender (DIR holds another build, `npm run build` done).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { exec, stopChild, track } from './children.mjs';
import { DATAPATH_LABELS as LABELS } from './datapath-labels.mjs';
import { cpuMs, TICK_MS } from './proc.mjs';
import { fmt, save, summary } from './stats.mjs';

const CHILD = new URL('./datapath-child.mjs', import.meta.url).pathname;
const SERVER = new URL('./datapath-server.mjs', import.meta.url).pathname;

/**
 * Idle CPU milliseconds of the whole box so far (every core; /proc/stat's idle + iowait): how much
 * CPU an upload left unused, that is, whether moving work to another thread has a core to go to.
 */
function boxIdleMs() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  return (Number(fields[4]) + Number(fields[5])) * TICK_MS;
}

export function rgwEnv() {
  const env = {};
  for (const line of readFileSync('/tmp/dropgate-rgw/env', 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  return env;
}

/**
 * RGW keeps a deleted object's data until its garbage collector runs (a minute later here); the
 * store is 8 GiB of RAM, and these benches write GiBs in seconds, so it fills and RGW stalls.
 * After deleting, the bench asks for the collection at once (`radosgw-admin gc process`).
 */
export async function collectRgwGarbage() {
  const conf = '/tmp/dropgate-rgw/ceph.conf';
  if (!existsSync(conf)) return;
  await exec('radosgw-admin', ['-c', conf, 'gc', 'process', '--include-all'], { limitMs: 120_000 }).catch(() => {});
}

export async function writeFile(path, size) {
  const out = createWriteStream(path);
  const head = Buffer.from([0, 0, 0, 0x18, ...Buffer.from('ftypisom'), 0, 0, 2, 0, ...Buffer.from('isomiso2')]);
  out.write(head);
  let left = size - head.length;
  while (left > 0) {
    const chunk = randomBytes(Math.min(left, 8 << 20));
    left -= chunk.length;
    if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r, j) => out.end((e) => (e ? j(e) : r())));
}

/**
 * Starts bench/datapath-server.mjs (disk or s3) with a fresh data folder; resolves with { url, pid, stop }.
 * `profile`: a file name for its --cpu-prof in flags.prof.
 */
export async function startServer(store, dataDir, { prof, profile, env = {} } = {}) {
  const profArgs = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`, `--cpu-prof-name=${profile}`] : [];
  const child = spawn(process.execPath, [...profArgs, SERVER, store, dataDir], {
    env: { ...process.env, ...(store === 's3' ? rgwEnv() : {}), ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  track(child);
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c) => {
      out += c;
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve(JSON.parse(line).url);
    });
    child.once('exit', (code) => reject(new Error(`datapath-server exited ${code}`)));
  });
  return {
    url,
    pid: child.pid,
    async stop() {
      await stopChild(child, 15_000);
    },
  };
}

async function viaClient(endpoint, path, mode, prof, profile, env) {
  const profArgs = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`, `--cpu-prof-name=${profile}`] : [];
  return JSON.parse(await exec(process.execPath, [...profArgs, CHILD, endpoint, path, 'big', mode], { env }));
}

async function viaCurl(endpoint, path, size) {
  // The dev stack lets anyone on loopback sign (as the client does here).
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ size, contentType: 'video/mp4', name: 'data.mp4', route: 'big', multipart: false }),
  });
  const signed = await res.json();
  if (!res.ok || !signed.presignedUrl) throw new Error(`no single-PUT URL: ${res.status} ${JSON.stringify(signed)}`);
  const headers = Object.entries(signed.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  // Through sh, which prints its own /proc stat once curl has exited: cutime + cstime are curl's CPU.
  const script = 'curl "$@"; code=$?; echo; cat /proc/$$/stat; exit $code';
  const curlArgs = ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-T', path, ...headers, signed.presignedUrl];
  const started = performance.now();
  const out = await exec('sh', ['-c', script, 'sh', ...curlArgs]);
  const ms = performance.now() - started;
  const [code, stat] = out.split('\n');
  if (!/^2\d\d$/.test(code.trim())) throw new Error(`curl PUT answered ${code}`);
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const clientCpuMs = (Number(fields[13]) + Number(fields[14])) * TICK_MS; // cutime, cstime: fields 16 and 17 of stat(5)
  return { ms, size, key: signed.key, clientCpuMs };
}

export async function run(flags) {
  const targets = flags.targets.split(',');
  const contenders = flags.contenders.split(',');
  if (flags.baseline && !contenders.includes('baseline')) contenders.splice(1, 0, 'baseline');
  const baselineClient = flags.baseline ? join(resolve(flags.baseline), 'dist/client/index.js') : undefined;
  if (contenders.includes('baseline') && !(baselineClient && existsSync(baselineClient)))
    throw new Error('the baseline contender needs --baseline DIR with DIR/dist/client/index.js built');
  const dir = await mkdtemp(join(tmpdir(), 'dropgate-bench-datapath-'));
  const path = join(dir, 'data.mp4');
  // RGW's store here is RAM shared with other tests: each object is deleted right after its upload.
  const rgw = targets.includes('rgw') ? (await import('../dist/storage/s3.js')).s3FromEnv(rgwEnv()) : undefined;
  const samples = {};
  try {
    await writeFile(path, flags.size);
    console.log(`datapath: ${flags.runs} runs of ${flags.size} bytes; targets ${targets.join(', ')}; contenders ${contenders.join(', ')}`);
    for (let r = 0; r < flags.runs; r++) {
      for (const target of targets) {
        const line = [];
        // Each run starts one contender later, so no contender always follows the same one.
        for (const who of contenders.map((_, i) => contenders[(i + r) % contenders.length])) {
          const store = target === 'disk' ? 'disk' : 's3';
          const server = await startServer(store, join(dir, `stack-${target}-${who}-${r}`), {
            prof: flags.prof,
            profile: `server-${target}-${who}-${r}.cpuprofile`,
          });
          let m;
          let serverCpu;
          let idle;
          try {
            const cpu0 = cpuMs(server.pid);
            const idle0 = boxIdleMs();
            m =
              who === 'curl'
                ? await viaCurl(server.url, path, flags.size)
                : await viaClient(
                    server.url,
                    path,
                    who === 'client' || who === 'baseline' ? 'default' : who,
                    flags.prof,
                    `client-${target}-${who}-${r}.cpuprofile`,
                    who === 'baseline' ? { BENCH_CLIENT: baselineClient } : undefined,
                  );
            serverCpu = cpuMs(server.pid) - cpu0;
            // Of the box's cores × the upload's wall time: the client child measures its own upload
            // (not its start-up, nor `prehashed`'s hashing before the clock); curl's covers its signing.
            idle = (m.boxIdleMs ?? boxIdleMs() - idle0) / (availableParallelism() * m.ms);
          } finally {
            await server.stop();
            await rm(join(dir, `stack-${target}-${who}-${r}`), { recursive: true, force: true });
            // Deleting a 1 GiB file on a filesystem mounted with `discard` (this machine's ext4)
            // queues its trims for the next journal commit, which then fell inside the next upload
            // (BENCHMARKS.md, datapath): `sync` waits for them, before the next clock starts.
            await exec('sync', []);
          }
          if (m.key && rgw) {
            await rgw.delete(m.key);
            await collectRgwGarbage();
          }
          if (m.size !== flags.size) throw new Error(`${who} uploaded ${m.size} bytes`);
          samples[`${target}/${who}`] ??= { mbps: [], serverCpuMs: [], clientCpuMs: [], idle: [] };
          const s = samples[`${target}/${who}`];
          s.mbps.push(flags.size / 1e6 / (m.ms / 1000));
          s.serverCpuMs.push(serverCpu);
          s.idle.push(idle);
          if (m.clientCpuMs !== undefined) s.clientCpuMs.push(m.clientCpuMs);
          line.push(
            `${who} ${fmt(s.mbps.at(-1))} MB/s (${Math.round(m.ms)} ms, gateway CPU ${Math.round(serverCpu)} ms, box idle ${Math.round(idle * 100)}%)`,
          );
        }
        console.log(`run ${r + 1} ${target}: ${line.join('   ')}`);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const results = {};
  const ratios = {};
  for (const target of targets) {
    results[target] = {};
    for (const who of contenders) {
      const s = samples[`${target}/${who}`];
      results[target][who] = {
        mbps: summary(s.mbps),
        serverCpuMs: summary(s.serverCpuMs),
        boxIdle: summary(s.idle),
        ...(s.clientCpuMs.length ? { clientCpuMs: summary(s.clientCpuMs) } : {}),
      };
      const { mbps, serverCpuMs, clientCpuMs, boxIdle } = results[target][who];
      console.log(
        `${target.padEnd(4)} ${LABELS[who].padEnd(24)} median ${fmt(mbps.median)} MB/s (min ${fmt(mbps.min)}, max ${fmt(mbps.max)})  gateway CPU ${Math.round(serverCpuMs.median)} ms${clientCpuMs ? `  client CPU ${Math.round(clientCpuMs.median)} ms` : ''}  box idle ${Math.round(boxIdle.median * 100)}%`,
      );
    }
    const curl = results[target].curl?.mbps.median;
    if (curl) {
      for (const who of contenders.filter((c) => c !== 'curl')) {
        ratios[`datapath-${target}${who === 'client' ? '' : `-${who}`}-vs-curl`] = results[target][who].mbps.median / curl;
      }
    }
  }
  save('datapath', { flags, results, ratios });
  for (const target of targets) {
    const ratio = ratios[`datapath-${target}-vs-curl`];
    if (ratio !== undefined) console.log(`bar (${target}): client ≥ 90% of curl: ${ratio >= 0.9 ? 'met' : 'MISSED'}`);
  }
  for (const [name, v] of Object.entries(ratios)) console.log(`RATIO ${name} ${v.toFixed(3)}`);
  for (const target of targets) {
    for (const who of contenders) console.log(`VALUE datapath-${target}-${who} ${results[target][who].mbps.median.toFixed(1)} MB/s`);
  }
}
