/**
 * Issue 6, attack 12: bearer secrets in logs. A whole `dropgate dev` session, run as users get it
 * (`node bin/dropgate.js dev`, every line it prints captured): sign, upload, complete, read,
 * ranged read, multipart, list, delete, abort, and a spread of refusals. No presigned token, no
 * token signature and not the HMAC secret may appear in anything it printed.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevProcess, startDevProcess } from '../helpers/dev-process.js';
import { fileOf } from '../helpers/harness.js';

describe('secrets never reach the logs of `dropgate dev`', () => {
  let dev: DevProcess;
  /** Every bearer URL the session handled. */
  const urls: string[] = [];
  let secret = '';

  beforeAll(async () => {
    dev = await startDevProcess();
    secret = (await readFile(join(dev.dataDir, 'secret'), 'utf8')).trim();
  });
  afterAll(() => dev?.stop());

  const api = `/api/upload`;
  async function call(method: string, path: string, init: { json?: unknown; body?: Uint8Array; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...init.headers };
    if (init.json !== undefined) headers['content-type'] = 'application/json';
    const url = path.startsWith('http') ? path : `${dev.url}${path}`;
    const body = init.json !== undefined ? JSON.stringify(init.json) : (init.body as Uint8Array<ArrayBuffer> | undefined);
    const response = await fetch(url, { method, headers, redirect: 'manual', ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    const json = response.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as Record<string, unknown>) : {};
    const location = response.headers.get('location');
    if (location) urls.push(location);
    return { status: response.status, json };
  }
  async function sign(body: Record<string, unknown>) {
    const answer = await call('POST', api, { json: body });
    for (const key of ['presignedUrl', 'readUrl'] as const) if (typeof answer.json[key] === 'string') urls.push(answer.json[key] as string);
    return answer;
  }

  it('runs a full session, errors included', async () => {
    // The happy path: sign, PUT, complete, read whole and by range, list.
    const png = fileOf('image/png', 3000);
    const first = await sign({ size: 3000, contentType: 'image/png', name: 'cat.png' });
    const put = first.json.presignedUrl as string;
    expect((await call('PUT', put, { body: png, headers: first.json.headers as Record<string, string> })).status).toBe(200);
    const id = String(first.json.uploadId);
    expect((await call('POST', `${api}/${id}/complete`, { json: {} })).status).toBe(200);
    expect((await call('GET', first.json.readUrl as string)).status).toBe(200);
    expect((await call('GET', first.json.readUrl as string, { headers: { range: 'bytes=0-9' } })).status).toBe(206);
    expect((await call('GET', `${api}/files/${id}`)).status).toBe(302);
    expect((await call('GET', api)).status).toBe(200);

    // Refusals: a replayed and a tampered token, a wrong size, an early complete, bad requests.
    expect((await call('PUT', put, { body: png, headers: { 'content-type': 'image/png' } })).status).toBe(403);
    const tampered = put.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    expect((await call('PUT', tampered, { body: png, headers: { 'content-type': 'image/png' } })).status).toBe(403);
    expect((await call('GET', tampered.replace(/\.[^.]*$/, '.x'))).status).toBe(403);
    const second = await sign({ size: 3000, contentType: 'image/png' });
    const headers = second.json.headers as Record<string, string>;
    expect((await call('PUT', second.json.presignedUrl as string, { body: png.subarray(0, 2999), headers })).status).toBe(400);
    expect((await call('PUT', second.json.presignedUrl as string, { body: png, headers: { 'content-type': 'text/html' } })).status).toBe(
      403,
    );
    expect((await call('POST', `${api}/${second.json.uploadId}/complete`, { json: {} })).status).toBe(409);
    expect((await call('DELETE', `${api}/${second.json.uploadId}`)).status).toBe(200);
    expect((await call('POST', api, { json: { size: 1, contentType: 'text/html' } })).status).toBe(415);
    expect((await call('POST', api, { json: { size: 1, contentType: 'image/png', key: 'x' } })).status).toBe(400);
    expect((await call('POST', api, { body: new TextEncoder().encode('{'), headers: { 'content-type': 'application/json' } })).status).toBe(
      400,
    );

    // Multipart: the part URLs are bearer secrets too.
    const big = await sign({ size: 6000, contentType: 'image/png', multipart: true });
    const mpId = String(big.json.uploadId);
    const parts = await call('POST', `${api}/${mpId}/parts`, { json: { parts: [{ partNumber: 1 }] } });
    const partUrl = (parts.json.parts as { url: string }[])[0]!.url;
    urls.push(partUrl);
    expect((await call('PUT', partUrl, { body: fileOf('image/png', 6000) })).status).toBe(200);
    expect((await call('POST', `${api}/${mpId}/complete`, { json: {} })).status).toBe(200);

    // A magic-byte refusal and a deletion.
    const html = await sign({ size: 300, contentType: 'image/png' });
    const page = new TextEncoder().encode('<html>'.padEnd(300));
    await call('PUT', html.json.presignedUrl as string, { body: page, headers: html.json.headers as Record<string, string> });
    expect((await call('POST', `${api}/${html.json.uploadId}/complete`, { json: {} })).status).toBe(422);
    expect((await call('DELETE', `${api}/files/${id}`)).status).toBe(200);
  });

  it('printed a request line for each call, and no token, signature or secret', async () => {
    await dev.stop();
    const output = dev.output();
    // The capture works: the session's requests are there (so the absence below means something).
    expect(output).toMatch(/PUT \/api\/upload\/_disk\/… 200/);
    expect(output).toMatch(/POST \/api\/upload\/[0-9a-f-]{36}\/complete 422/);
    const tokens = urls.filter((url) => url.includes('/_disk/')).map((url) => url.slice(url.lastIndexOf('/') + 1));
    expect(tokens.length).toBeGreaterThanOrEqual(8);
    for (const token of tokens) {
      const [payload, signature] = token.split('.') as [string, string];
      expect(output).not.toContain(signature);
      expect(output).not.toContain(payload);
    }
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(output).not.toContain(secret);
    expect(output).not.toMatch(/X-Amz-Signature|X-Amz-Credential/i);
  });
});
