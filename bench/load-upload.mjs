/**
 * One uploader of `bench load`, a process of its own: uploads <path> with dropgate/client (Node,
 * its defaults) through the gateway at <endpoint>, with the API key in BENCH_KEY. Prints
 * {ms, size, key, calls} as JSON. Usage: node bench/load-upload.mjs <endpoint> <path> <name> [warm]
 * `warm`: multipart whatever the size (a small file in two parts), to warm a fresh gateway's path up.
 * With BENCH_GATEWAY_PID, `calls` holds the gateway's CPU-ms around each API call, by kind (sign,
 * parts, complete): exact only while this is the gateway's one client (`--clients 1`).
 */
import { createClient, openFile } from '../dist/client/index.js';
import { cpuMs } from './proc.mjs';

const [endpoint, path, name, warm] = process.argv.slice(2);
const gatewayPid = process.env.BENCH_GATEWAY_PID;
const calls = {};

/** fetch, booking the gateway's CPU during each API call to its kind. */
async function measuredFetch(input, init) {
  const url = String(input);
  if (!url.startsWith(endpoint)) return fetch(input, init);
  const kind = url.endsWith('/parts') ? 'parts' : url.endsWith('/complete') ? 'complete' : url === endpoint ? 'sign' : 'other';
  const before = cpuMs(gatewayPid);
  const response = await fetch(input, init);
  const body = await response.arrayBuffer();
  calls[kind] = [...(calls[kind] ?? []), cpuMs(gatewayPid) - before];
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

const blob = await openFile(path, { type: 'video/mp4' });
const started = performance.now();
const client = createClient({
  endpoint,
  headers: { authorization: `Bearer ${process.env.BENCH_KEY}` },
  ...(gatewayPid && { fetch: measuredFetch }),
});
const file = await client.upload(blob, warm ? { name, multipartThreshold: 1 } : { name });
process.stdout.write(`${JSON.stringify({ ms: performance.now() - started, size: file.size, key: file.key, calls })}\n`);
