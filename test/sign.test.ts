/**
 * Security requirements 1–9 and 14 of DESIGN.md at the sign endpoint, on the real disk store and
 * PGlite ledger. "Nothing signed" is checked in the ledger: no reservation was taken.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDropgate } from '../src/server/gateway.js';
import { MiB } from '../src/shared/sizes.js';
import { BASE, createHarness, type Harness, ORIGIN } from './helpers/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

const video = { size: 1000, contentType: 'video/mp4' };
const reservedBytes = async (user = 'alice') => (await h.ledger.usage(user, 'default', '2026-11-24')).reservedBytes;

describe('1. authentication, deny by default', () => {
  it('refuses sign, parts, complete, abort and status without a user', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    for (const [method, path] of [
      ['POST', BASE],
      ['POST', `${BASE}/${id}/parts`],
      ['POST', `${BASE}/${id}/complete`],
      ['DELETE', `${BASE}/${id}`],
      ['GET', `${BASE}/${id}`],
      ['GET', BASE],
    ] as const) {
      const response = await h.call(method, path, { json: video });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(JSON.parse(String(response.body)).error.code).toBe('UNAUTHENTICATED');
    }
    expect(await reservedBytes()).toBe(0);
  });

  it('will not start without authenticate unless anonymous use is asked for', () => {
    expect(() => createDropgate({ storage: h.storage, ledger: h.ledger })).toThrow(/authenticate/);
  });
});

describe('2. CSRF', () => {
  it('refuses a sign from another origin, or marked cross-site', async () => {
    const evil = await h.call('POST', BASE, { json: video, user: 'alice', headers: { origin: 'https://evil.example' } });
    expect(evil.status).toBe(403);
    const crossSite = await h.call('POST', BASE, { json: video, user: 'alice', headers: { 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.status).toBe(403);
    expect(await reservedBytes()).toBe(0);
  });

  it('refuses a text/plain post with neither Origin nor Sec-Fetch-Site (an HTML form)', async () => {
    const form = await h.call('POST', BASE, { body: JSON.stringify(video), headers: { 'content-type': 'text/plain' }, user: 'alice' });
    expect(form.status).toBe(403);
  });

  it("accepts the seed's same-origin text/plain post", async () => {
    const seed = await h.call('POST', BASE, {
      body: JSON.stringify(video),
      headers: { 'content-type': 'text/plain;charset=UTF-8', origin: ORIGIN, 'sec-fetch-site': 'same-origin' },
      user: 'alice',
    });
    expect(seed.status).toBe(200);
  });
});

describe('3. the server picks every key', () => {
  it.each(['key', 'path', 'prefix'])('rejects a client "%s" field with 400', async (field) => {
    const { status, json } = await h.sign({ ...video, [field]: '../../etc/passwd' });
    expect(status).toBe(400);
    expect((json.error as { field: string }).field).toBe(field);
  });

  it('keys are {route}/{uuid}.{ext} and never contain the file name', async () => {
    const { json } = await h.sign({ ...video, name: 'holiday.mp4' });
    expect(json.key).toMatch(/^default\/[0-9a-f-]{36}\.mp4$/);
    expect(json.key).toBe(`default/${json.uploadId}.mp4`);
  });
});

describe('3b. per-user key prefixes', () => {
  it('turns any user id into one plain key segment, never "." or ".."', async () => {
    const scoped = await createHarness({ routes: { default: { keyPrefix: 'u/{userId}' } } });
    try {
      for (const [user, segment] of [
        ['..', '__'],
        ['a/b', 'a_b'],
        ['ip:::1', 'ip___1'],
      ]) {
        const { json } = await scoped.sign(video, user);
        expect(String(json.key).split('/').slice(0, 2)).toEqual(['u', segment]);
      }
    } finally {
      await scoped.close();
    }
  });
});

describe('4. size', () => {
  it('max passes, max+1 fails with maxBytes', async () => {
    const max = 200 * MiB;
    expect((await h.sign({ size: max, contentType: 'video/mp4' })).status).toBe(200);
    const over = await h.sign({ size: max + 1, contentType: 'video/mp4' });
    expect(over.status).toBe(413);
    expect(over.json.error).toMatchObject({ code: 'FILE_TOO_LARGE', maxBytes: max });
  });

  it.each([0, -1, 1.5, '10', null, Number.MAX_SAFE_INTEGER + 2])('rejects size %s', async (size) => {
    const { status } = await h.sign({ size, contentType: 'video/mp4' });
    expect([400, 413]).toContain(status);
    expect(await reservedBytes()).toBe(0);
  });
});

describe('5. type', () => {
  it('takes allowed types and refuses others with 415', async () => {
    expect((await h.sign({ size: 10, contentType: 'image/png' })).status).toBe(200);
    const exe = await h.sign({ size: 10, contentType: 'application/x-msdownload' });
    expect(exe.status).toBe(415);
    expect((exe.json.error as { code: string }).code).toBe('FILE_TYPE_NOT_ALLOWED');
  });

  it('never allows HTML, SVG or XML through a wildcard', async () => {
    const open = await createHarness({ routes: { default: { allowedTypes: ['*/*'] } } });
    try {
      for (const contentType of ['text/html', 'image/svg+xml', 'application/xml', 'application/xhtml+xml']) {
        expect((await open.sign({ size: 10, contentType })).status, contentType).toBe(415);
      }
      expect((await open.sign({ size: 10, contentType: 'text/plain' })).status).toBe(200);
    } finally {
      await open.close();
    }
  });

  it('refuses a name whose extension disagrees with the type', async () => {
    expect((await h.sign({ size: 10, contentType: 'image/png', name: 'a.jpg.php' })).status).toBe(415);
    expect((await h.sign({ size: 10, contentType: 'image/png', name: 'photo.jpg' })).status).toBe(415);
    expect((await h.sign({ size: 10, contentType: 'image/png', name: 'photo.PNG' })).status).toBe(200);
  });
});

describe('6. file names are display metadata', () => {
  it.each([
    ['too long', `${'a'.repeat(252)}.png`.replace('a', 'é')],
    ['control character', 'a\nb.png'],
    ['bidi override', 'evil\u202Egnp.exe.png'],
    ['slash', '../a.png'],
    ['backslash', '..\\a.png'],
  ])('rejects a name with %s', async (_, name) => {
    const { status } = await h.sign({ size: 10, contentType: 'image/png', name });
    expect(status).toBe(400);
  });

  it('keeps markup in a name as text and out of the key', async () => {
    const name = '"><img src=x onerror=alert(1)>.png';
    const { status, json } = await h.sign({ size: 10, contentType: 'image/png', name });
    expect(status).toBe(200);
    expect(json.key).not.toContain('img');
  });
});

describe('8. URL lifetime', () => {
  it('defaults to 10 minutes and is capped at 7 days', async () => {
    const { json } = await h.sign(video);
    expect(Date.parse(String(json.expiresAt)) - h.clock.now.getTime()).toBe(600_000);
    expect(() =>
      createDropgate({ storage: h.storage, ledger: h.ledger, allowAnonymous: true, routes: { default: { urlLifetime: 8 * 86400 } } }),
    ).toThrow(/7 days/);
  });
});

describe('9. rate limits', () => {
  it('answers 429 with Retry-After past the per-user limit, and signs nothing', async () => {
    const limited = await createHarness({ routes: { default: { rateLimit: { perUserPerMinute: 3 } } } });
    try {
      for (let i = 0; i < 3; i++) expect((await limited.sign(video)).status).toBe(200);
      const response = await limited.call('POST', BASE, { json: video, user: 'alice' });
      expect(response.status).toBe(429);
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
      expect((await limited.ledger.usage('alice', 'default', '2026-11-24')).reservedBytes).toBe(3000);
      expect((await limited.sign(video, 'bob')).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('limits per IP across users', async () => {
    const limited = await createHarness({ routes: { default: { rateLimit: { perIpPerMinute: 2 } } } });
    try {
      expect((await limited.sign(video, 'u1')).status).toBe(200);
      expect((await limited.sign(video, 'u2')).status).toBe(200);
      expect((await limited.sign(video, 'u3')).status).toBe(429);
    } finally {
      await limited.close();
    }
  });
});

describe('14. presigned URLs are bearer secrets', () => {
  it('answers sign with Cache-Control: no-store and logs no URL', async () => {
    const response = await h.call('POST', BASE, { json: video, user: 'alice' });
    expect(response.headers['cache-control']).toBe('no-store');
    const { presignedUrl } = JSON.parse(String(response.body)) as { presignedUrl: string };
    const token = presignedUrl.split('/').pop() ?? '';
    expect(token.length).toBeGreaterThan(20);
    expect(JSON.stringify(h.logs)).not.toContain(token);
  });
});

describe('protocol errors', () => {
  it('answers malformed JSON, non-objects, unknown fields and huge bodies with 400/413', async () => {
    const bad = async (body: string) =>
      (await h.call('POST', BASE, { body, headers: { 'content-type': 'application/json' }, user: 'alice' })).status;
    expect(await bad('{')).toBe(400);
    expect(await bad('[1,2]')).toBe(400);
    expect(await bad(JSON.stringify({ ...video, extra: 1 }))).toBe(400);
    expect(await bad(`${'['.repeat(5000)}${']'.repeat(5000)}`)).toBe(400);
    expect(await bad(JSON.stringify({ ...video, metadata: { a: 'x'.repeat(3000) } }))).toBe(400);
    expect(await bad(JSON.stringify({ ...video, name: 'x'.repeat(2_000_000) }))).toBe(413);
  });
});
