/**
 * Child of `bench datapath`: one upload of <path> with dropgate/client (Node) to <endpoint>, route
 * <route>; prints {ms, size, key, clientCpuMs, boxIdleMs} as JSON. The time covers the whole upload: sign, the PUT(s),
 * complete. <mode>: `default` (the client's defaults: multipart above 100 MiB, 16 MiB parts, 4 at
 * once, each part's MD5 signed as Content-MD5), `nohash` (the same with `hashPart: false`),
 * `single` (one PUT, no part hashing: `multipartThreshold` above the file's size), `blob` (the
 * defaults with the file opened by `fs.openAsBlob` instead of the client's `openFile`), `worker`
 * (the defaults with each part's MD5 worked out by node:crypto in one of 2 worker_threads, which
 * reads the part's byte range with fs 1 MiB at a time), or `prehashed` (every part's MD5 worked out
 * before the clock starts: Content-MD5 signed and checked, without the client's hashing during the
 * upload). Also prints boxIdleMs: the whole machine's idle CPU during the upload (/proc/stat).
 */
import { createHash } from 'node:crypto';
import { openAsBlob, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

// BENCH_CLIENT: another build's dist/client/index.js, for before/after comparisons.
const { createClient, openFile } = await import(process.env.BENCH_CLIENT ?? '../dist/client/index.js');

const [endpoint, path, route, mode = 'default'] = process.argv.slice(2);
// openFile (node:fs reads) where the build has it, as a Node app is told to; `blob`: fs.openAsBlob.
const blob = openFile && mode !== 'blob' ? await openFile(path, { type: 'video/mp4' }) : await openAsBlob(path, { type: 'video/mp4' });

// The byte range `openFile` records on its Blobs and their slices (src/client/node-file.ts).
const PATH = Symbol.for('dropgate.filePath');
const rangeOf = (part) => {
  const range = part[PATH];
  if (!range) throw new Error('not a Blob from openFile');
  return { path: range.path, start: range.start, end: range.start + part.size };
};

/** MD5 of [start, end) of the file, read into one reused buffer `chunk` bytes at a time. */
async function md5OfRange({ path, start, end }, chunk) {
  const hash = createHash('md5');
  const buffer = Buffer.allocUnsafe(chunk);
  const file = await open(path, 'r');
  try {
    for (let at = start; at < end; ) {
      const { bytesRead } = await file.read(buffer, 0, Math.min(chunk, end - at), at);
      if (bytesRead === 0) throw new Error('file shrank');
      hash.update(buffer.subarray(0, bytesRead));
      at += bytesRead;
    }
  } finally {
    await file.close();
  }
  return hash.digest('base64');
}

/** A pool of `size` worker_threads, each running md5OfRange; parts go to the first free one. */
function workerHasher(size, chunk) {
  const source = `
    const { parentPort } = require('node:worker_threads');
    const { createHash } = require('node:crypto');
    const { open } = require('node:fs/promises');
    ${md5OfRange.toString()}
    parentPort.on('message', async ({ id, range }) => {
      try { parentPort.postMessage({ id, md5: await md5OfRange(range, ${chunk}) }); }
      catch (error) { parentPort.postMessage({ id, error: String(error) }); }
    });`;
  const idle = [];
  const waiting = [];
  const jobs = new Map();
  let workers = 0;
  let nextId = 1;
  const send = (worker, job) => {
    jobs.set(job.id, job);
    worker.ref();
    worker.postMessage({ id: job.id, range: job.range });
  };
  const spawnOne = () => {
    const worker = new Worker(source, { eval: true });
    workers++;
    worker.on('message', ({ id, md5, error }) => {
      const job = jobs.get(id);
      jobs.delete(id);
      if (error) job.reject(new Error(error));
      else job.resolve(md5);
      const next = waiting.shift();
      if (next) send(worker, next);
      else {
        worker.unref();
        idle.push(worker);
      }
    });
    return worker;
  };
  return (part) =>
    new Promise((resolve, reject) => {
      const job = { id: nextId++, range: rangeOf(part), resolve, reject };
      const worker = idle.pop() ?? (workers < size ? spawnOne() : undefined);
      if (worker) send(worker, job);
      else waiting.push(job);
    });
}

/**
 * A control, not a hasher to use: every 16 MiB part's MD5 worked out before the clock starts, so
 * the upload signs and sends Content-MD5 as `default` does without spending the hashing's CPU.
 */
async function prehashed(file) {
  const md5s = new Map();
  for (let start = 0; start < file.size; start += 16 << 20) {
    const range = rangeOf(file.slice(start, start + (16 << 20)));
    md5s.set(`${range.start}:${range.end}`, await md5OfRange(range, 1 << 20));
  }
  return (part) => {
    const range = rangeOf(part);
    return md5s.get(`${range.start}:${range.end}`) ?? md5OfRange(range, 1 << 20);
  };
}

const options = { name: 'data.mp4' };
if (mode === 'nohash') options.hashPart = false;
else if (mode === 'single') options.multipartThreshold = blob.size + 1;
else if (mode === 'worker') options.hashPart = workerHasher(2, 1 << 20);
else if (mode === 'prehashed') options.hashPart = await prehashed(blob);
else if (mode !== 'default' && mode !== 'blob') throw new Error(`unknown mode ${mode}`);
/** Idle CPU ms of every core so far: /proc/stat's idle + iowait, in USER_HZ (100 on Linux). */
const boxIdleMs = () => {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  return (Number(fields[4]) + Number(fields[5])) * 10;
};
const cpu = process.cpuUsage();
const idle = boxIdleMs();
const started = performance.now();
const file = await createClient({ endpoint, route }).upload(blob, options);
const ms = performance.now() - started;
const idleMs = boxIdleMs() - idle;
const { user, system } = process.cpuUsage(cpu);
process.stdout.write(`${JSON.stringify({ ms, size: file.size, key: file.key, clientCpuMs: (user + system) / 1000, boxIdleMs: idleMs })}\n`);
