/**
 * The real `dropgate serve` process: refusals to start, API-key and JWT auth, sign → upload →
 * complete → read → delete through the Node client, health and readiness, logs that hold no
 * secret, and a SIGTERM that lets an in-flight upload finish before exiting 0.
 */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upload } from '../src/client/index.js';
import type { FileListResponse, SignResponse } from '../src/shared/protocol.js';
import { fileOf } from './helpers/harness.js';
import { ensureBuilt, runServeToExit, type ServeProcess, startServeProcess } from './helpers/serve-process.js';

const ALICE_KEY = 'k_alice_Zx81mQ2vT7pL0aW9';
const BOB_KEY = 'k_bob_Hn4rY6uE3sK8dJ1c';
const JWT_SECRET = 'serve-test-hs256-secret-0123456789abcdef';
const DISK_SECRET = 'serve-test-disk-secret-0123456789abcdefghij';
const AUTH_ENV = { DROPGATE_API_KEYS: `${ALICE_KEY}:alice,${BOB_KEY}:bob`, DROPGATE_JWT_SECRET: JWT_SECRET };

let dir: string;
beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'dropgate-serve-'));
}, 120_000);
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const jwtFor = (sub: string, exp: string | number = '5m') =>
  new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime(exp).sign(new TextEncoder().encode(JWT_SECRET));

async function sign(serve: ServeProcess, headers: Record<string, string>, body: Record<string, unknown>) {
  const response = await fetch(`${serve.url}/api/upload`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    json: (await response.json()) as Partial<SignResponse> & { error?: { code: string; message: string } },
  };
}

describe('dropgate serve refuses to start', () => {
  it('without auth, with exit code 2 and a message saying what to set', async () => {
    const { code, stderr } = await runServeToExit({ env: { DROPGATE_PUBLIC_URL: 'http://localhost:1' }, cwd: dir });
    expect(code).toBe(2);
    expect(stderr).toMatch(/refusing to start without auth.*DROPGATE_API_KEYS/s);
  });

  it('with a TypeScript config file this Node cannot load, saying how to fix it', async () => {
    const stripsTypes = Boolean((process as { features?: { typescript?: unknown } }).features?.typescript);
    const cwd = await mkdtemp(join(dir, 'ts-'));
    await writeFile(join(cwd, 'dropgate.config.ts'), 'export default { routes: { default: {} as Record<string, never> } };');
    const result = await runServeToExit({ env: { ...AUTH_ENV, DROPGATE_PUBLIC_URL: 'http://localhost:1', PORT: 'x' }, cwd });
    expect(result.code).toBe(2);
    // With type stripping the file loads and the next mistake (the port) is the one reported.
    expect(result.stderr).toMatch(stripsTypes ? /PORT must be a port number/ : /cannot load TypeScript.*dropgate\.config\.mjs/);
  });
});

describe('dropgate serve with API keys and JWTs', () => {
  let serve: ServeProcess;
  beforeAll(async () => {
    const cwd = await mkdtemp(join(dir, 'app-'));
    const config = { routes: { default: { maxSize: '4MiB', allowedTypes: ['image/png'], allowance: { bytes: '1MiB' } } } };
    await writeFile(join(cwd, 'dropgate.config.json'), JSON.stringify(config));
    serve = await startServeProcess({ cwd, env: { ...AUTH_ENV, DROPGATE_DATA_DIR: join(cwd, 'data'), DROPGATE_SECRET: DISK_SECRET } });
  }, 60_000);
  afterAll(async () => {
    if (serve) expect(await serve.stop()).toBe(0);
  });

  it('answers healthz with each check and readyz with ready', async () => {
    const health = await fetch(`${serve.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', checks: { ledger: { ok: true }, storage: { ok: true } } });
    const ready = await fetch(`${serve.url}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready' }]);
    expect((await fetch(`${serve.url}/`)).status).toBe(404); // no demo page
  });

  it('answers 401 for a missing or unknown API key and an expired, forged or foreign JWT', async () => {
    const body = { size: 100, contentType: 'image/png' };
    const refusals: Record<string, string>[] = [
      {},
      bearer('k_nobody_000000000000000'),
      bearer(await jwtFor('alice', Math.floor(Date.now() / 1000) - 60)),
      bearer(`${(await jwtFor('alice')).slice(0, -4)}AAAA`),
      { authorization: 'Basic YWxpY2U6cGFzcw==' },
    ];
    for (const headers of refusals) {
      const { status, json } = await sign(serve, headers, body);
      expect([status, json.error?.code], JSON.stringify(headers)).toEqual([401, 'UNAUTHENTICATED']);
    }
    expect((await fetch(`${serve.url}/api/upload`)).status).toBe(401);
    const carol = await sign(serve, bearer(await jwtFor('carol')), body);
    expect(carol.status).toBe(200);
    expect(carol.json.readUrl).toBe(`${serve.url}/api/upload/files/${carol.json.uploadId}`); // private by default
  });

  it('uploads through the client, reads the private file as its owner only, and refunds on delete', async () => {
    const bytes = fileOf('image/png', 300_000);
    const file = await upload(new Blob([Buffer.from(bytes)], { type: 'image/png' }), {
      endpoint: `${serve.url}/api/upload`,
      headers: bearer(ALICE_KEY),
      name: 'shot.png',
      metadata: { album: 'serve-test' },
    });
    expect(file).toMatchObject({ size: 300_000, contentType: 'image/png', url: `${serve.url}/api/upload/files/${file.id}` });

    const asAlice = await fetch(file.url, { headers: bearer(ALICE_KEY), redirect: 'manual' });
    expect(asAlice.status).toBe(302);
    const read = await fetch(new URL(asAlice.headers.get('location') ?? '', serve.url));
    expect(Buffer.from(await read.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
    expect((await fetch(file.url, { headers: bearer(BOB_KEY), redirect: 'manual' })).status).toBe(404);

    const list = async () => (await (await fetch(`${serve.url}/api/upload`, { headers: bearer(ALICE_KEY) })).json()) as FileListResponse;
    const before = await list();
    expect(before.files.find((f) => f.id === file.id)?.metadata).toEqual({ album: 'serve-test' });
    expect(before.allowance.usedBytes).toBe(300_000);
    const headers = { ...bearer(ALICE_KEY), 'content-type': 'application/json' };
    expect((await fetch(`${serve.url}/api/upload/files/${file.id}`, { method: 'DELETE', headers: bearer(BOB_KEY) })).status).toBe(404);
    expect((await fetch(`${serve.url}/api/upload/files/${file.id}`, { method: 'DELETE', headers })).status).toBe(200);
    const after = await list();
    expect(after.allowance.usedBytes).toBe(0);
    expect(after.files.find((f) => f.id === file.id)).toBeUndefined();
  });

  it('logs one JSON line per request with its id and user, and never a token, signature, key or JWT', async () => {
    const tagged = await fetch(`${serve.url}/readyz`, { headers: { 'x-request-id': 'lb-trace-42' } });
    expect(tagged.headers.get('x-request-id')).toBe('lb-trace-42');
    const jwt = await jwtFor('dave');
    const signed = await sign(serve, bearer(jwt), { size: 10, contentType: 'image/png' });
    expect(signed.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the last line is written after the answer

    const output = serve.stdout();
    const lines = output.trim().split('\n');
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const requests = entries.filter((e) => e.msg === 'request');
    for (const entry of requests) {
      expect(entry).toMatchObject({
        level: expect.any(String),
        requestId: expect.any(String),
        method: expect.any(String),
        status: expect.any(Number),
      });
      expect(typeof entry.time === 'string' && typeof entry.ms === 'number').toBe(true);
    }
    expect(requests).toContainEqual(expect.objectContaining({ requestId: 'lb-trace-42', path: '/readyz', status: 200 }));
    expect(requests).toContainEqual(expect.objectContaining({ method: 'POST', path: '/api/upload', status: 200, userId: 'dave' }));
    expect(requests).toContainEqual(expect.objectContaining({ method: 'PUT', path: '/api/upload/_disk/…', status: 200 }));
    expect(requests.filter((e) => e.userId === 'alice').length).toBeGreaterThanOrEqual(3);
    // The gateway's own entries carry the id of the request they were made for.
    const completed = entries.filter((e) => e.msg === 'upload completed');
    expect(completed.length).toBeGreaterThanOrEqual(1);
    for (const entry of completed) {
      expect(requests).toContainEqual(
        expect.objectContaining({ requestId: entry.requestId, method: 'POST', path: expect.stringMatching(/\/complete$/), status: 200 }),
      );
    }

    const presigned = String(signed.json.presignedUrl);
    const token = presigned.slice(presigned.indexOf('/_disk/') + '/_disk/'.length);
    for (const secret of [ALICE_KEY, BOB_KEY, JWT_SECRET, DISK_SECRET, jwt, token, token.split('.')[1] ?? '', 'Bearer ']) {
      expect(secret.length).toBeGreaterThan(4);
      expect(output + serve.stderr(), 'a secret reached the logs').not.toContain(secret);
    }
    expect(output).not.toMatch(/_disk\/[^…]/);
  });
});

describe('dropgate serve on SIGTERM', () => {
  it('stops accepting, answers readyz 503, lets an in-flight upload finish, exits 0; the upload completes after a restart', async () => {
    const cwd = await mkdtemp(join(dir, 'drain-'));
    const env = { DROPGATE_API_KEYS: `${ALICE_KEY}:alice`, DROPGATE_DATA_DIR: join(cwd, 'data'), DROPGATE_SECRET: DISK_SECRET };
    const serve = await startServeProcess({ cwd, env });
    const size = 2 * 1024 * 1024;
    const bytes = fileOf('image/png', size);
    const signed = await sign(serve, bearer(ALICE_KEY), { size, contentType: 'image/png' });
    expect(signed.status).toBe(200);

    // The PUT trickles in over ~1.5 s; SIGTERM arrives a third of the way through.
    const put = new Promise<number>((resolve, reject) => {
      const req = httpRequest(String(signed.json.presignedUrl), {
        method: 'PUT',
        headers: { ...signed.json.headers, 'content-length': size },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      const chunk = size / 8;
      let sent = 0;
      const tick = setInterval(() => {
        req.write(bytes.subarray(sent, sent + chunk));
        sent += chunk;
        if (sent >= size) {
          clearInterval(tick);
          req.end();
        }
      }, 200);
    });
    // A load balancer's probe that is mid-request when the signal comes (its headers not yet
    // finished) is answered, and must hear that this instance is no longer ready.
    const probe = connect(Number(new URL(serve.url).port), 'localhost');
    let probeAnswer = '';
    probe.setEncoding('utf8').on('data', (chunk: string) => (probeAnswer += chunk));
    const probeClosed = new Promise((resolve) => probe.once('close', resolve));
    probe.write('GET /readyz HTTP/1.1\r\nHost: lb\r\n');
    await new Promise((resolve) => setTimeout(resolve, 500));
    serve.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expect(fetch(`${serve.url}/readyz`)).rejects.toThrow(); // no longer accepting
    probe.write('\r\n');
    await probeClosed;
    expect(probeAnswer).toMatch(/^HTTP\/1\.1 503[\s\S]*connection: close[\s\S]*\{"status":"draining"\}/i);
    expect(await put).toBe(200);
    expect(await serve.exited).toBe(0);
    expect(serve.stdout()).toMatch(/"msg":"shutting down"[\s\S]*"method":"PUT"[^\n]*"status":200[\s\S]*"msg":"stopped"/);

    const again = await startServeProcess({ cwd, env });
    const complete = await fetch(`${again.url}/api/upload/${signed.json.uploadId}/complete`, {
      method: 'POST',
      headers: { ...bearer(ALICE_KEY), 'content-type': 'application/json' },
      body: '{}',
    });
    expect(complete.status).toBe(200);
    expect(await again.stop()).toBe(0);
  }, 60_000);
});
