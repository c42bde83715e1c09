/**
 * Issue 6, attack 10, over real HTTP to `dropgate dev`: what a hostile page can make a victim's
 * browser send. A cross-site form post (text/plain, urlencoded, multipart) is refused and reserves
 * nothing; so are look-alike origins and an opaque (`null`) one. A preflight or a read from an
 * origin that is not allowed gets no Access-Control-Allow-Origin, so the browser shows the page
 * nothing. The seed's own same-origin text/plain post keeps working.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Live, send, startLive } from './live.js';
import { codeOf } from './stack.js';

const EVIL = 'https://evil.example';
const body = JSON.stringify({ size: 1000, contentType: 'image/png' });

describe('CSRF and CORS on `dropgate dev`', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive();
  });
  afterAll(() => live.stop());

  const lookAlikes = () => [
    `${live.url}.evil.example`,
    `http://localhost:${new URL(live.url).port}@evil.example`,
    live.url.replace('http:', 'https:').replace('localhost', 'localhost.'),
    'http://localhost',
  ];

  it.each([
    ['a text/plain form from another site', { 'content-type': 'text/plain', origin: EVIL, 'sec-fetch-site': 'cross-site' }],
    ['an urlencoded form from another site', { 'content-type': 'application/x-www-form-urlencoded', origin: EVIL }],
    ['a multipart form from another site', { 'content-type': 'multipart/form-data; boundary=x', origin: EVIL }],
    ['JSON from another site (a CORS request the browser sent anyway)', { 'content-type': 'application/json', origin: EVIL }],
    ['a form from a sandboxed frame (Origin: null)', { 'content-type': 'text/plain', origin: 'null' }],
    ['a form with Sec-Fetch-Site: same-site and no Origin', { 'content-type': 'text/plain', 'sec-fetch-site': 'same-site' }],
    ['a form with neither Origin nor Sec-Fetch-Site (older browsers)', { 'content-type': 'text/plain' }],
  ])('refuses %s to sign with 403, reserving nothing and exposing nothing', async (_, headers) => {
    const answer = await send(live.endpoint, 'POST', headers, body);
    expect(answer.status).toBe(403);
    expect(codeOf(answer.json)).toBe('FORBIDDEN');
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    expect(await live.ledgerOf()).toEqual({ usedBytes: 0, reservedBytes: 0, pending: 0 });
  });

  it('refuses origins that only look like its own', async () => {
    for (const origin of lookAlikes()) {
      const answer = await send(live.endpoint, 'POST', { 'content-type': 'text/plain', origin }, body);
      expect(answer.status, origin).toBe(403);
      expect(answer.headers['access-control-allow-origin'], origin).toBeUndefined();
    }
    expect((await live.ledgerOf()).pending).toBe(0);
  });

  it('refuses cross-site complete, abort and file deletion too', async () => {
    const signed = await live.sign({ size: 1000, contentType: 'image/png' }, { origin: live.url });
    const id = String(signed.json.uploadId);
    for (const [method, path] of [
      ['POST', `/${id}/complete`],
      ['DELETE', `/${id}`],
      ['DELETE', `/files/${id}`],
      ['POST', `/${id}/parts`],
    ]) {
      const answer = await send(`${live.endpoint}${path}`, method!, { 'content-type': 'text/plain', origin: EVIL }, '{}');
      expect(answer.status, `${method} ${path}`).toBe(403);
    }
    expect((await live.stack.ledger.getUpload(id))?.status).toBe('pending');
    expect((await send(`${live.endpoint}/${id}`, 'DELETE', { origin: live.url })).status).toBe(200);
  });

  it("accepts the seed's same-origin text/plain post", async () => {
    const answer = await send(
      live.endpoint,
      'POST',
      { 'content-type': 'text/plain;charset=UTF-8', origin: live.url, 'sec-fetch-site': 'same-origin' },
      body,
    );
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect((await send(`${live.endpoint}/${answer.json.uploadId}`, 'DELETE', { origin: live.url })).status).toBe(200);
  });

  it.each([
    ['the API', () => live.endpoint, 'POST'],
    ['an upload', () => `${live.endpoint}/${randomUUID()}/complete`, 'POST'],
    ['the disk receiver', () => `${live.endpoint}/_disk/anything`, 'PUT'],
  ])('answers a preflight to %s from a disallowed origin with no CORS grant', async (_, url, method) => {
    for (const origin of [EVIL, 'null', ...lookAlikes()]) {
      const answer = await send(url(), 'OPTIONS', {
        origin,
        'access-control-request-method': method,
        'access-control-request-headers': 'content-type',
      });
      expect(answer.status).toBeLessThan(300);
      for (const header of ['access-control-allow-origin', 'access-control-allow-credentials', 'access-control-allow-methods']) {
        expect(answer.headers[header], `${origin}: ${header}`).toBeUndefined();
      }
      expect(answer.headers.vary).toContain('Origin');
    }
  });

  it('grants its own origin, naming it exactly (never *)', async () => {
    const answer = await send(live.endpoint, 'OPTIONS', { origin: live.url, 'access-control-request-method': 'POST' });
    expect(answer.headers['access-control-allow-origin']).toBe(live.url);
    expect(answer.headers['access-control-allow-credentials']).toBe('true');
  });

  it('lets no other origin read the file list or the allowance', async () => {
    const answer = await send(live.endpoint, 'GET', { origin: EVIL });
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
  });
});
