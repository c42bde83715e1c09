/**
 * datapath: a --size byte file (default 1 GiB, random bytes behind an MP4 header) uploaded into the
 * disk store of the embedded dev stack by dropgate/client (Node, a child process, defaults: whatever
 * single PUT or multipart plan the gateway gives) vs `curl -T` of the same file to a presigned
 * single-PUT URL from the same gateway (`multipart: false`). Throughput is bytes ÷ wall time: the
 * client's covers sign + PUT(s) + complete; curl's covers the PUT only (the URL is signed before the
 * clock starts), so the comparison is tilted towards curl. Runs interleaved; a fresh stack per run.
 * Bar: ≥ 90% of curl's throughput. RGW is not measured here.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedded } from '../dist/cli/embedded.js';
import { fmt, save, summary } from './stats.mjs';

const CHILD = new URL('./datapath-child.mjs', import.meta.url).pathname;

function exec(cmd, args, limitMs) {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.setEncoding('utf8').on('data', (c) => (out += c));
    proc.stderr.setEncoding('utf8').on('data', (c) => (err += c));
    const kill = setTimeout(() => proc.kill('SIGKILL'), limitMs);
    proc.on('exit', (code) => {
      clearTimeout(kill);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} exited ${code}: ${err || out}`));
    });
  });
}

async function writeFile(path, size) {
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

async function withStack(dir, r, fn) {
  const dataDir = join(dir, `stack-${r}`);
  const stack = await startEmbedded({ dataDir, port: 0, host: '127.0.0.1', routes: { big: { maxSize: '3GiB' } }, log: () => {} });
  try {
    return await fn(`${stack.url}/api/upload`);
  } finally {
    await stack.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function viaClient(endpoint, path, size, prof) {
  // `--prof DIR`: the client writes a CPU profile there (read it with bench/profile-top.mjs).
  const profArgs = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [];
  const m = JSON.parse(await exec(process.execPath, [...profArgs, CHILD, endpoint, path, 'big'], 600_000));
  if (m.size !== size) throw new Error(`client uploaded ${m.size} bytes`);
  return m.ms;
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
  const started = performance.now();
  const code = await exec('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-T', path, ...headers, signed.presignedUrl], 600_000);
  const ms = performance.now() - started;
  if (!/^2\d\d$/.test(code.trim())) throw new Error(`curl PUT answered ${code}`);
  return ms;
}

export async function run(flags) {
  const dir = await mkdtemp(join(tmpdir(), 'dropgate-bench-datapath-'));
  const path = join(dir, 'data.mp4');
  try {
    await writeFile(path, flags.size);
    console.log(`datapath: ${flags.runs} runs each of dropgate/client and curl -T, ${flags.size} bytes into the disk store`);
    const client = [];
    const curl = [];
    for (let r = 0; r < flags.runs; r++) {
      const a = await withStack(dir, `c${r}`, (endpoint) => viaClient(endpoint, path, flags.size, flags.prof));
      const b = await withStack(dir, `u${r}`, (endpoint) => viaCurl(endpoint, path, flags.size));
      client.push(flags.size / 1e6 / (a / 1000));
      curl.push(flags.size / 1e6 / (b / 1000));
      console.log(
        `run ${r + 1}: dropgate/client ${fmt(client.at(-1))} MB/s (${Math.round(a)} ms)   curl -T ${fmt(curl.at(-1))} MB/s (${Math.round(b)} ms)`,
      );
    }
    const results = { client: summary(client), curl: summary(curl) };
    for (const [name, s] of Object.entries(results))
      console.log(`${name.padEnd(7)} median ${fmt(s.median)} MB/s (min ${fmt(s.min)}, max ${fmt(s.max)})`);
    const ratio = results.client.median / results.curl.median;
    save('datapath', { flags, results, ratios: { 'datapath-disk-vs-curl': ratio } });
    console.log(`bar: ≥ 90% of curl: ${ratio >= 0.9 ? 'met' : 'MISSED'}`);
    console.log(`RATIO datapath-disk-vs-curl ${ratio.toFixed(3)}`);
    console.log(`VALUE datapath-disk-client ${results.client.median.toFixed(1)} MB/s`);
    console.log(`VALUE datapath-disk-curl ${results.curl.median.toFixed(1)} MB/s`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
