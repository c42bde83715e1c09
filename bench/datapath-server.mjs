/**
 * The gateway of `bench datapath` and `bench load`, a process of its own so that its CPU and memory
 * are its own and `--cpu-prof` profiles it alone: the embedded dev stack (PGlite ledger in <dataDir>)
 * with the disk store in <dataDir>, or with the S3 store (RGW, settings from the environment), route
 * `big` (maxSize 3 GiB). Prints {"url": "<base>/api/upload"} once listening; closes on SIGTERM.
 * Usage: node bench/datapath-server.mjs <disk|s3> <dataDir>
 */
import { startEmbedded } from '../dist/cli/embedded.js';

const [store, dataDir] = process.argv.slice(2);
const storage = store === 's3' ? { storage: (await import('../dist/storage/s3.js')).s3FromEnv(process.env) } : {};
const stack = await startEmbedded({
  dataDir,
  port: 0,
  host: '127.0.0.1',
  routes: { big: { maxSize: '3GiB', allowance: { bytes: '1000GiB', period: 'total' } } },
  log: () => {},
  ...storage,
});
process.stdout.write(`${JSON.stringify({ url: `${stack.url}/api/upload` })}\n`);
process.once('SIGTERM', async () => {
  await stack.close();
  // An explicit exit, so that --cpu-prof writes its profile.
  process.exit(0);
});
