/**
 * `node bench/handle-profile.mjs [N] [--concurrency C] [--redis URL]`: the JavaScript cost of one
 * sign request without the HTTP sockets — `gateway.handle()` in a loop, API-key auth over 50 keys,
 * validation, rate limits, a ledger whose `reserve` resolves at once, the S3 presign — so the
 * endpoint bench's server CPU can be split into this and socket work. Rate limits are in memory
 * unless `--redis` names a Redis (then their commands and their socket are in the figure, as in
 * the endpoint bench's sign-only server); `--concurrency C` keeps C requests in flight (default 1),
 * so that Redis commands can share writes as they do under load. Prints µs of CPU per request
 * (all threads, GC included) and wall µs. Run under `node --cpu-prof --cpu-prof-dir=/tmp/p` and
 * read with `node bench/profile-top.mjs /tmp/p/*.cpuprofile`. BENCH_DIST=DIR runs another build's
 * dist/ (e.g. an earlier commit's), to compare before/after in alternation.
 */
import { parseArgs } from 'node:util';
import { noopLedger } from './noop-ledger.mjs';

const dist = process.env.BENCH_DIST ?? new URL('../dist/', import.meta.url).pathname;
const { apiKeyAuth, createDropgate, createRedisClient, redisRateLimiter } = await import(`${dist}/server/index.js`);
const { createS3Storage } = await import(`${dist}/storage/index.js`);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { concurrency: { type: 'string', default: '1' }, redis: { type: 'string' } },
});
const N = Number(positionals[0] ?? 100_000);
const C = Number(values.concurrency);
const redis = values.redis === undefined ? undefined : createRedisClient(values.redis);
if (redis && redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
const keys = Array.from({ length: 50 }, (_, i) => `bench-0123456789abcdef01234567-user${i}`);
const ledger = noopLedger();
const gateway = createDropgate({
  storage: createS3Storage({
    bucket: 'bench-bucket',
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:7480',
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIABENCHMARK0000001', secretAccessKey: 'benchmark-secret-key-0123456789abcdefghij' },
  }),
  ledger,
  routes: {
    default: {
      maxSize: '1GiB',
      allowedTypes: ['video/*'],
      allowance: { bytes: '1000000GiB', period: 'total' },
      rateLimit: { perUserPerMinute: 1e9, perIpPerMinute: 1e9 },
      maxPendingUploads: 1e9,
    },
  },
  authenticate: apiKeyAuth(Object.fromEntries(keys.map((k, i) => [k, `bench-user${i}`]))),
  ...(redis && { rateLimiter: redisRateLimiter(redis, { namespace: `bench${process.pid}` }) }),
});
const body = JSON.stringify({ size: 10_485_760, contentType: 'video/mp4', name: 'clip.mp4' });
let i = 0;
const request = () => {
  const headers = { authorization: `Bearer ${keys[i++ % keys.length]}`, 'content-type': 'application/json' };
  return {
    method: 'POST',
    pathname: '/api/upload',
    searchParams: new URLSearchParams(''),
    header: (name) => headers[name],
    remoteAddress: '127.0.0.1',
    raw: undefined,
    text: async () => body,
    body: () => {
      throw new Error('not used');
    },
  };
};
const once = async () => {
  const response = await gateway.handle(request());
  if (response.status !== 200) throw new Error(`status ${response.status}: ${String(response.body)}`);
};
/** `count` requests, `C` in flight at a time. */
const run = async (count) => {
  const worker = async (share) => {
    for (let n = 0; n < share; n++) await once();
  };
  await Promise.all(Array.from({ length: C }, (_, w) => worker(Math.floor(count / C) + (w < count % C ? 1 : 0))));
};
await run(20_000);
// CPU time as well as wall time: on a shared machine the wall clock also counts the time this
// process waited for a core, the CPU time does not.
const t0 = performance.now();
const cpu0 = process.cpuUsage();
await run(N);
const cpu = process.cpuUsage(cpu0);
const wall = ((performance.now() - t0) * 1000) / N;
console.log(
  `gateway.handle, sign request: ${wall.toFixed(1)} µs each, ${((cpu.user + cpu.system) / N).toFixed(1)} µs of CPU (${(cpu.system / N).toFixed(1)} in the kernel; ${N}, ${C} in flight, rate limits ${redis ? 'in Redis' : 'in memory'})`,
);
await redis?.quit();
