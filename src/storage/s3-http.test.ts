/**
 * The request runner against a loopback server playing a store's bad moments: throttling, resets,
 * silence, errors under status 200. Whether its signatures hold is for the real store to say
 * (s3.test.ts and the S3 suites on Ceph RGW); here only what it does with the answers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStuckListener } from '../../test/helpers/stuck-listener.js';
import { s3FailureOf } from './s3-errors.js';
import { createS3Http, type S3Http, S3ResponseError, utf8 } from './s3-http.js';

type Answer = (req: IncomingMessage, res: ServerResponse) => void;

const xmlError = (code: string) => `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>m</Message></Error>`;
const answerWith =
  (status: number, body = '', headers: Record<string, string> = {}): Answer =>
  (_req, res) =>
    res.writeHead(status, headers).end(body);
const reset: Answer = (req) => req.socket.resetAndDestroy();
const silence: Answer = () => {};
const ok = answerWith(200, 'fine');

const tcpSockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('s3-http', () => {
  let server: Server;
  let url: string;
  /** Answers for the coming requests, in order; then `ok`. */
  const answers: Answer[] = [];
  const seen: { method: string; url: string; at: number; headers: IncomingMessage['headers'] }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', at: Date.now(), headers: req.headers });
      (answers.shift() ?? ok)(req, res);
    });
    // The server's own sockets must not count when the test looks at what keeps the process alive.
    server.on('connection', (socket) => socket.unref());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    server.unref();
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bucket`;
  });
  afterEach(() => {
    answers.length = 0;
    seen.length = 0;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret', sessionToken: 'token/+=' };
  const runner = (maxAttempts = 3, requestTimeoutMs = 30_000): S3Http =>
    createS3Http({ credentials, region: 'us-east-1', maxAttempts, requestTimeoutMs }, url);
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => expect.unreachable('it succeeded'),
      (e: unknown) => e,
    );

  it('sends a presigned request: query auth with the session token, signed headers kept, a body with its length', async () => {
    const response = await runner().send({
      method: 'POST',
      key: 'a b/c.bin',
      query: { uploads: '' },
      headers: { 'content-type': 'video/mp4', 'x-amz-acl': 'public-read' },
      unhoistableHeaders: ['x-amz-acl'],
      body: '<x>é</x>',
    });
    expect(response.status).toBe(200);
    expect(utf8(response.body)).toBe('fine');
    const [request] = seen;
    const query = new URL(request?.url ?? '', 'http://x').searchParams;
    expect(request?.url).toMatch(/^\/bucket\/a%20b\/c\.bin\?/);
    expect(query.get('X-Amz-Security-Token')).toBe('token/+=');
    expect(query.get('X-Amz-SignedHeaders')).toBe('content-type;host;x-amz-acl');
    expect(query.has('uploads')).toBe(true);
    expect(request?.headers).toMatchObject({ 'content-type': 'video/mp4', 'x-amz-acl': 'public-read', 'content-length': '9' });
    expect(request?.headers.host).toBe(new URL(url).host);
  });

  it('retries SlowDown and 500s with growing, jittered delays, then succeeds', async () => {
    answers.push(answerWith(503, xmlError('SlowDown')), answerWith(500, xmlError('InternalError')));
    expect((await runner().send({ method: 'GET', key: 'k' })).status).toBe(200);
    expect(seen).toHaveLength(3);
    // Full jitter: up to 100 ms, then up to 200 ms.
    expect(seen[2]!.at - seen[0]!.at).toBeLessThan(300 + 100);
  });

  it('gives up after maxAttempts with the store error as s3-errors.ts reads it', async () => {
    answers.push(...Array.from({ length: 3 }, () => answerWith(503, xmlError('SlowDown'))));
    const error = await failure(runner(2).send({ method: 'GET', key: 'k' }));
    expect(error).toBeInstanceOf(S3ResponseError);
    expect(s3FailureOf(error)).toMatchObject({ code: 'SlowDown', status: 503, message: 'm' });
    expect(seen).toHaveLength(2);
  });

  it('does not retry what a retry cannot fix; a bodiless error is named by its status', async () => {
    answers.push(answerWith(404, xmlError('NoSuchKey')));
    expect(s3FailureOf(await failure(runner().send({ method: 'GET', key: 'k' })))).toMatchObject({ code: 'NoSuchKey', status: 404 });
    answers.push(answerWith(404), answerWith(403), answerWith(409, '<html>no</html>'));
    expect(s3FailureOf(await failure(runner().send({ method: 'HEAD', key: 'k' })))).toMatchObject({ code: 'NotFound', status: 404 });
    expect(s3FailureOf(await failure(runner().send({ method: 'HEAD', key: 'k' })))).toMatchObject({ code: 'Forbidden', status: 403 });
    expect(s3FailureOf(await failure(runner().send({ method: 'GET', key: 'k' })))).toMatchObject({ code: 'HTTP409', status: 409 });
    expect(seen).toHaveLength(4);
    answers.push(answerWith(503), answerWith(503), answerWith(503));
    expect(s3FailureOf(await failure(runner().send({ method: 'HEAD', key: 'k' })))).toMatchObject({ code: 'HTTP503', status: 503 });
    expect(seen).toHaveLength(7);
  });

  it('takes an <Error> under status 200 for the error it is, past whitespace (S3 sends some while it works), and an empty 200, when the answer is XML', async () => {
    answers.push(
      answerWith(200, `${' \n'.repeat(1000)}${xmlError('InternalError')}`),
      answerWith(200, ''),
      answerWith(200, '<Result><ETag>e</ETag></Result>'),
    );
    const response = await runner().send({ method: 'POST', key: 'k', query: { uploadId: 'u' }, body: '<x/>', xmlResult: true });
    expect(utf8(response.body)).toContain('<ETag>e</ETag>');
    expect(seen).toHaveLength(3);
    answers.push(answerWith(200, xmlError('InvalidPart')));
    const error = await failure(runner().send({ method: 'POST', key: 'k', query: { uploadId: 'u' }, body: '<x/>', xmlResult: true }));
    expect(s3FailureOf(error)).toMatchObject({ code: 'InvalidPart', status: 503 });
    expect(seen).toHaveLength(4);
    // An object's bytes are only bytes, whatever they say.
    answers.push(answerWith(200, xmlError('InternalError')));
    expect(utf8((await runner().send({ method: 'GET', key: 'k' })).body)).toBe(xmlError('InternalError'));
  });

  it('retries connection resets, and keeps node’s code when they persist', async () => {
    answers.push(reset, reset);
    expect((await runner().send({ method: 'DELETE', key: 'k' })).status).toBe(200);
    answers.push(reset);
    expect(s3FailureOf(await failure(runner(1).send({ method: 'DELETE', key: 'k' })))).toMatchObject({
      code: 'ECONNRESET',
      status: undefined,
    });
  });

  it('gives up on silence after requestTimeoutMs, per attempt', async () => {
    answers.push(silence, silence);
    const started = Date.now();
    expect(s3FailureOf(await failure(runner(2, 150).send({ method: 'HEAD', key: 'k' })))).toMatchObject({ code: 'ETIMEDOUT' });
    expect(seen).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('gives up on a connect that never completes after 5 s, well before requestTimeoutMs, and retries it as a timeout', async () => {
    const stuck = await startStuckListener();
    try {
      const stuckUrl = `http://127.0.0.1:${stuck.port}/bucket`;
      const timed = async (maxAttempts: number) => {
        const started = Date.now();
        const http = createS3Http({ credentials, region: 'us-east-1', maxAttempts, requestTimeoutMs: 30_000 }, stuckUrl);
        const error = await failure(http.send({ method: 'HEAD', key: 'k' }));
        return { error, ms: Date.now() - started };
      };
      // Side by side, so the test waits 10 s, not 15.
      const [once, twice] = await Promise.all([timed(1), timed(2)]);
      for (const { error } of [once, twice]) {
        expect(error).toMatchObject({ name: 'TimeoutError', code: 'ETIMEDOUT', message: 'No connection to the storage within 5000 ms' });
      }
      expect(once.ms).toBeGreaterThanOrEqual(4_990);
      expect(once.ms).toBeLessThan(6_000);
      // Two attempts of 5 s, and a backoff of up to 100 ms between them.
      expect(twice.ms).toBeGreaterThanOrEqual(9_980);
      expect(twice.ms).toBeLessThan(11_500);
    } finally {
      await stuck.close();
    }
  });

  it('waits as long as a Retry-After asks', async () => {
    answers.push(answerWith(503, xmlError('SlowDown'), { 'retry-after': '1' }));
    await runner().send({ method: 'HEAD', key: 'k' });
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('leaves nothing that keeps the process alive once idle: the keep-alive socket is unref’d, the timers cleared', async () => {
    const http = runner();
    // Earlier tests' sockets may still be closing; the server's own are unref'd.
    await expect.poll(tcpSockets).toBe(0);
    const pending = timers();
    let answer: (() => void) | undefined;
    answers.push((_req, res) => {
      answer = () => res.end('late');
    });
    const inFlight = http.send({ method: 'GET', key: 'k' });
    await expect.poll(() => answer).toBeDefined();
    // The check can fail: while a request is out, its socket does hold the process.
    expect(tcpSockets()).toBe(1);
    answer?.();
    await inFlight;
    await new Promise((resolve) => setImmediate(resolve));
    expect(tcpSockets()).toBe(0);
    // Its timeout timers (30 s here) are gone too.
    expect(timers()).toBeLessThanOrEqual(pending);
    // And the socket is reused by the next call.
    await http.send({ method: 'GET', key: 'k' });
    expect(seen[1]?.headers.connection).toBe('keep-alive');
  });
});
