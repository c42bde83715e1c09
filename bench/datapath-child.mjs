/**
 * Child of `bench datapath`: one upload of <path> with dropgate/client (Node) to <endpoint>, route
 * <route>; prints {ms, size, key, clientCpuMs} as JSON. The time covers the whole upload: sign, the PUT(s),
 * complete. <mode>: `default` (the client's defaults: multipart above 100 MiB, 16 MiB parts, 4 at
 * once, each part's MD5 signed as Content-MD5), `nohash` (the same with `hashPart: false`),
 * `single` (one PUT, no part hashing: `multipartThreshold` above the file's size), or `blob` (the
 * defaults with the file opened by `fs.openAsBlob` instead of the client's `openFile`).
 */
import { openAsBlob } from 'node:fs';

// BENCH_CLIENT: another build's dist/client/index.js, for before/after comparisons.
const { createClient, openFile } = await import(process.env.BENCH_CLIENT ?? '../dist/client/index.js');

const [endpoint, path, route, mode = 'default'] = process.argv.slice(2);
// openFile (node:fs reads) where the build has it, as a Node app is told to; `blob`: fs.openAsBlob.
const blob = openFile && mode !== 'blob' ? await openFile(path, { type: 'video/mp4' }) : await openAsBlob(path, { type: 'video/mp4' });
const options = { name: 'data.mp4' };
if (mode === 'nohash') options.hashPart = false;
else if (mode === 'single') options.multipartThreshold = blob.size + 1;
else if (mode !== 'default' && mode !== 'blob') throw new Error(`unknown mode ${mode}`);
const cpu = process.cpuUsage();
const started = performance.now();
const file = await createClient({ endpoint, route }).upload(blob, options);
const ms = performance.now() - started;
const { user, system } = process.cpuUsage(cpu);
process.stdout.write(`${JSON.stringify({ ms, size: file.size, key: file.key, clientCpuMs: (user + system) / 1000 })}\n`);
