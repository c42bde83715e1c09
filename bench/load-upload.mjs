/**
 * One uploader of `bench load`, a process of its own: uploads <path> with dropgate/client (Node,
 * its defaults) through the gateway at <endpoint>, with the API key in BENCH_KEY. Prints
 * {ms, size, key} as JSON. Usage: node bench/load-upload.mjs <endpoint> <path> <name> [warm]
 * `warm`: multipart whatever the size (a small file in two parts), to warm a fresh gateway's path up.
 */
import { createClient, openFile } from '../dist/client/index.js';

const [endpoint, path, name, warm] = process.argv.slice(2);
const blob = await openFile(path, { type: 'video/mp4' });
const started = performance.now();
const client = createClient({ endpoint, headers: { authorization: `Bearer ${process.env.BENCH_KEY}` } });
const file = await client.upload(blob, warm ? { name, multipartThreshold: 1 } : { name });
process.stdout.write(`${JSON.stringify({ ms: performance.now() - started, size: file.size, key: file.key })}\n`);
