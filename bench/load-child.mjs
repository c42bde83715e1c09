/**
 * The load generator of `bench endpoint`, a process of its own: autocannon against one URL, each
 * request carrying the next of the API keys (round-robin), so N users share the load. Prints
 * autocannon's result as JSON. Usage: node bench/load-child.mjs <url> <connections> <seconds> <body>
 * with the keys, comma-separated, in BENCH_KEYS.
 */
import autocannon from 'autocannon';

const [url, connections, duration, body] = process.argv.slice(2);
const keys = process.env.BENCH_KEYS.split(',');
let i = 0;
const result = await autocannon({
  url,
  connections: Number(connections),
  duration: Number(duration),
  requests: [
    {
      method: 'POST',
      body,
      setupRequest: (request) => ({
        ...request,
        headers: { ...request.headers, 'content-type': 'application/json', authorization: `Bearer ${keys[i++ % keys.length]}` },
      }),
    },
  ],
});
process.stdout.write(JSON.stringify(result));
