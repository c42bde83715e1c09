/**
 * Child of `bench datapath`: one upload of <path> with dropgate/client (Node, its defaults) to
 * <endpoint>, route <route>; prints {ms, size} as JSON. The time covers the whole upload: sign,
 * the PUT(s), complete.
 */
import { openAsBlob } from 'node:fs';
import { createClient } from '../dist/client/index.js';

const [endpoint, path, route] = process.argv.slice(2);
const blob = await openAsBlob(path, { type: 'video/mp4' });
const started = performance.now();
const file = await createClient({ endpoint, route }).upload(blob, { name: 'data.mp4' });
process.stdout.write(`${JSON.stringify({ ms: performance.now() - started, size: file.size })}\n`);
