/**
 * The in-process servers of `bench endpoint` (the others run `dropgate serve` itself):
 *   bare       node:http: read the JSON body, parse it, answer a fixed JSON (the ceiling)
 *   sign-only  dropgate's gateway on the node adapter, from the parts `dropgate serve` uses (API-key
 *              auth, validation, Redis rate limit, S3 presign) but with a ledger whose `reserve`
 *              resolves at once and stores nothing: the closest honest "no ledger" configuration.
 * Usage: node bench/endpoint-server.mjs <bare|sign-only> <port>, API keys comma-separated in
 * BENCH_KEYS, routes in BENCH_ROUTES (JSON); prints "listening <port>".
 */
import { createServer } from 'node:http';
import { noopLedger } from './noop-ledger.mjs';

const [mode, portArg] = process.argv.slice(2);
let handler;
let close = async () => {};
if (mode === 'bare') {
  handler = (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const input = JSON.parse(body);
      const out = JSON.stringify({ id: 'x', size: input.size, url: 'http://127.0.0.1:7480/b/k?X-Amz-Signature=0' });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
  };
} else if (mode === 'sign-only') {
  // BENCH_DIST: another build's dist/ (bench endpoint --baseline), for before/after in one invocation.
  const dist = process.env.BENCH_DIST ?? new URL('../dist/', import.meta.url).pathname;
  const { createDropgate, apiKeyAuth, createRedisClient, redisRateLimiter } = await import(`${dist}/server/index.js`);
  const { s3FromEnv } = await import(`${dist}/storage/index.js`);
  const { toNodeHandler } = await import(`${dist}/adapters/node.js`);
  const { routes } = JSON.parse(process.env.BENCH_ROUTES);
  const redis = createRedisClient(process.env.REDIS_URL);
  const ledger = noopLedger();
  const gateway = createDropgate({
    storage: s3FromEnv(process.env),
    ledger,
    routes,
    authenticate: apiKeyAuth(Object.fromEntries(process.env.BENCH_KEYS.split(',').map((k, i) => [k, `bench-user${i}`]))),
    rateLimiter: redisRateLimiter(redis, { namespace: `bench${process.pid}` }),
  });
  handler = toNodeHandler(gateway);
  close = () => redis.quit();
} else {
  console.error('usage: endpoint-server.mjs <bare|sign-only> <port>');
  process.exit(2);
}
const server = createServer(handler);
server.listen(Number(portArg), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  close().finally(() => process.exit(0));
});
