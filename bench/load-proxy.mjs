/**
 * The baseline of `bench load`: a plain streaming proxy. `PUT /<key>` with a Content-Length is
 * piped, as it arrives, to a presigned PUT of that key on RGW (query-string SigV4, so the payload is
 * UNSIGNED-PAYLOAD: no hashing; node's stream buffers only, no body held). Signed by dropgate's own
 * S3 store, so the signing costs the same as in the gateway. Prints {"url": "<base>"} once
 * listening; exits on SIGTERM. Usage: node bench/load-proxy.mjs (RGW settings in the environment)
 */
import { createServer, request } from 'node:http';
import { s3FromEnv } from '../dist/storage/s3.js';

const storage = s3FromEnv(process.env);
const server = createServer((req, res) => {
  const size = Number(req.headers['content-length']);
  const key = decodeURIComponent(req.url.slice(1));
  if (req.method !== 'PUT' || !Number.isSafeInteger(size) || !key) {
    res.writeHead(400).end();
    return;
  }
  const contentType = req.headers['content-type'] ?? 'application/octet-stream';
  const signed = storage.presignPut({ key, size, contentType, expiresIn: 600 });
  const upstream = request(signed.url, { method: 'PUT', headers: { ...signed.headers, 'content-length': String(size) } }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, { etag: answer.headers.etag ?? '' });
    answer.pipe(res);
  });
  upstream.on('error', (error) => {
    // Said on stderr, so that a failed run names its cause (curl itself only sees a closed socket).
    console.error(`load-proxy: PUT ${key} upstream ${error.code ?? ''} ${error.message}`);
    res.destroy();
  });
  req.pipe(upstream);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  // An explicit exit, so that --cpu-prof writes its profile.
  process.exit(0);
});
