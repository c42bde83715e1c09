/**
 * Issue 6, attack 9: hostile file names. A name is display metadata: what could do harm is
 * refused at sign (nothing reserved), the rest is kept as text, never reaches a key, and comes
 * back in a Content-Disposition that follows RFC 6266 and cannot break out of its header.
 * (How the demo page shows such names is test/browser.test.ts's.)
 */
import { describe, expect, it } from 'vitest';
import { fileOf } from '../helpers/harness.js';
import { type AttackStack, codeOf, expectLedger, newUser, STACKS, useStack } from './stack.js';

// RFC 6266 with RFC 8187's ext-value: a quoted ASCII fallback without quotes or backslashes, then
// UTF-8 percent-encoding that uses only attr-chars.
const RFC_6266 = /^inline; filename="([\x20\x21\x23-\x5b\x5d-\x7e]*)"; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+)$/;

/** Signs, uploads and completes a file named `name`; returns the Content-Disposition it is served with. */
async function servedDisposition(s: AttackStack, user: string, name: string, contentType: string): Promise<string> {
  const signed = await s.sign({ size: 300, contentType, name }, user);
  expect(signed.status, name).toBe(200);
  expect(signed.json.key).toBe(`default/${signed.json.uploadId}.${contentType === 'image/png' ? 'png' : 'jpg'}`);
  await s.put(signed.json, fileOf(contentType, 300));
  const done = await s.complete(String(signed.json.uploadId), user);
  expect((done.json.file as { name: string }).name).toBe(name);
  const redirect = await s.call('GET', `/api/upload/files/${signed.json.uploadId}`, { user });
  const read = await s.send({ url: String(redirect.headers.location), method: 'GET', headers: {}, expiresAt: new Date() });
  expect(read.status).toBe(200);
  return String(read.headers.get('content-disposition'));
}

describe.each(STACKS)('file names on $name', (factory) => {
  const stack = useStack(factory);

  it.each([
    ['markup', '"><img src=x onerror=alert(1)>.png', 'image/png'],
    ['a percent-encoded NUL', 'a.php%00.jpg', 'image/jpeg'],
    ['a double extension ending in the right type', 'a.php.jpg', 'image/jpeg'],
    ['a header injection attempt in quotes', 'x.html"; filename="evil.png', 'image/png'],
    ['a line separator (U+2028)', 'a\u2028b.png', 'image/png'],
    ['non-ASCII text', 'Été 🎬 (1).png', 'image/png'],
    ['a leading dot', '.htaccess', 'image/png'],
    ['exactly 255 bytes', `${'é'.repeat(124)}abc.png`, 'image/png'],
  ])('keeps a name with %s as text, served as RFC 6266', async (_, name, contentType) => {
    const header = await servedDisposition(stack(), newUser(), name, contentType);
    const match = RFC_6266.exec(header);
    expect(match, header).not.toBeNull();
    // The exact name survives in filename*, and nothing in the header could end it early.
    expect(decodeURIComponent(match![2]!)).toBe(name);
    expect(header).not.toMatch(/[\r\n\0]/);
  });

  it.each([
    ['a real NUL', 'a.php\u0000.jpg', 'image/jpeg', 'INVALID_REQUEST'],
    ['a newline', 'a\nb.png', 'image/png', 'INVALID_REQUEST'],
    ['CRLF and a header', 'a.png\r\nContent-Type: text/html', 'image/png', 'INVALID_REQUEST'],
    ['a right-to-left override', 'invoice\u202Egnp.exe', 'image/png', 'INVALID_REQUEST'],
    ['a right-to-left override that ends well', 'photo\u202Egpj.png', 'image/png', 'INVALID_REQUEST'],
    ['10 KB', `${'a'.repeat(10_240)}.png`, 'image/png', 'INVALID_REQUEST'],
    ['256 bytes', `${'a'.repeat(252)}.png`, 'image/png', 'INVALID_REQUEST'],
    ['a slash', 'uploads/a.png', 'image/png', 'INVALID_REQUEST'],
    ['only dots', '..', 'image/png', 'INVALID_REQUEST'],
    ['an empty name', '', 'image/png', 'INVALID_REQUEST'],
    ['a script extension after the image one', 'a.jpg.php', 'image/jpeg', 'FILE_TYPE_NOT_ALLOWED'],
    ['an HTML extension', 'cat.html', 'image/png', 'FILE_TYPE_NOT_ALLOWED'],
    ['an SVG extension', 'cat.svg', 'image/png', 'FILE_TYPE_NOT_ALLOWED'],
  ])('refuses a name with %s at sign, reserving nothing', async (_, name, contentType, code) => {
    const s = stack();
    const user = newUser();
    const { status, json } = await s.sign({ size: 300, contentType, name }, user);
    expect(status).toBe(code === 'INVALID_REQUEST' ? 400 : 415);
    expect(codeOf(json)).toBe(code);
    await expectLedger(s, user, { usedBytes: 0, reservedBytes: 0, pending: 0 });
  });

  it('never lets a name into a key, a log line, or a file listing other than as a JSON string', async () => {
    const s = stack();
    const user = newUser();
    const name = '"><img src=x onerror=alert(1)>.png';
    await servedDisposition(s, user, name, 'image/png');
    const list = await s.call('GET', '/api/upload', { user });
    const text = String(list.body);
    expect(list.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(text).files[0]).toMatchObject({ name, key: expect.not.stringContaining('img') });
    expect(JSON.stringify(s.logs)).not.toContain('onerror');
  });
});
