import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DropgateError, errorFromBody } from './errors.js';
import { MAX_PARTS, MIN_PART_SIZE, partLength, partSizeFor } from './parts.js';
import { assertNoClientKey, parseWith, SignRequestSchema } from './protocol.js';
import { formatBytes, GiB, MiB, parseSize } from './sizes.js';
import { assertSafeFileName, contentDisposition, essence, extensionForType, isTypeAllowed, utf8Length } from './types.js';

describe('parseSize', () => {
  it.each([
    ['200MiB', 209_715_200],
    ['2GB', 2_000_000_000],
    ['1KB', 1000],
    ['1KiB', 1024],
    ['1.5 MiB', 1_572_864],
    ['42', 42],
    [7, 7],
  ] as const)('%s → %d', (input, bytes) => expect(parseSize(input)).toBe(bytes));

  it.each(['', 'ten', '5 parsecs', '-1', -1, 1.5])('refuses %s', (input) => expect(() => parseSize(input)).toThrow(DropgateError));

  it('formats binary units', () => expect(formatBytes(200 * MiB)).toBe('200 MiB'));
});

describe('partSizeFor', () => {
  it('covers the file exactly with parts of at least 5 MiB and at most 10,000 parts', () => {
    for (const size of [1, MIN_PART_SIZE, 100 * MiB + 1, 5 * GiB, 48.8 * 1024 * GiB]) {
      const plan = partSizeFor(size);
      expect(plan.partSize).toBeGreaterThanOrEqual(MIN_PART_SIZE);
      expect(plan.partCount).toBeLessThanOrEqual(MAX_PARTS);
      const last = partLength(size, plan, plan.partCount);
      expect(last).toBeGreaterThan(0);
      expect(plan.partSize * (plan.partCount - 1) + last).toBe(size);
    }
  });
});

describe('types', () => {
  it('matches wildcards but never lets active content through one', () => {
    expect(isTypeAllowed(['video/*'], 'video/mp4')).toBe(true);
    expect(isTypeAllowed(['video/*'], 'Video/MP4; codecs="avc1"')).toBe(true);
    expect(isTypeAllowed(['video/*'], 'image/png')).toBe(false);
    expect(isTypeAllowed(['image/*'], 'image/svg+xml')).toBe(false);
    expect(isTypeAllowed(['image/svg+xml'], 'image/svg+xml')).toBe(true);
    expect(isTypeAllowed(['*/*'], 'text/html')).toBe(false);
    expect(isTypeAllowed(['*/*'], '')).toBe(false);
    expect(isTypeAllowed(['*/*'], 'not a type')).toBe(false);
  });

  it('takes the essence of a type: parameters off, trimmed, lower-cased, whatever the input', () => {
    expect(essence('video/mp4')).toBe('video/mp4');
    expect(essence(' Video/MP4 ; codecs="avc1"')).toBe('video/mp4');
    expect(essence('video/*')).toBe('video/*');
    expect(essence('VIDEO/*')).toBe('video/*');
    expect(essence('\tvideo/webm')).toBe('video/webm');
    expect(essence('video/mp4;')).toBe('video/mp4');
    const reference = (type: string) => (type.split(';')[0] ?? '').trim().toLowerCase();
    const typeChars = fc.constantFrom(...'aZ09/*;-+. \t"=\u00c9\u00a0'.split(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: typeChars }), fc.string({ unit: 'grapheme' })), (type) => essence(type) === reference(type)),
      { numRuns: 5000 },
    );
  });

  it('gives keys a canonical extension', () => {
    expect(extensionForType('video/mp4')).toBe('mp4');
    expect(extensionForType('image/jpeg')).toBe('jpg');
    expect(extensionForType('application/x-unknown')).toBe('');
  });

  it('counts UTF-8 bytes as TextEncoder writes them, lone surrogates included, and holds names to 255', () => {
    const samples = ['', 'a.mp4', 'é', '€', '😀', 'a😀b', '\ud800', '\udc00x', '\ud83d', 'x\ud83d\ud83d\ude00', 'ﬀ'.repeat(90)];
    for (const text of samples) expect(utf8Length(text), JSON.stringify(text)).toBe(new TextEncoder().encode(text).length);
    expect(() => assertSafeFileName(`${'😀'.repeat(62)}.mp4`)).not.toThrow(); // 62 × 4 + 4 = 252 bytes
    expect(() => assertSafeFileName(`${'😀'.repeat(63)}.mp4`)).toThrow(/255 bytes/); // 256 bytes
  });

  it('accepts ordinary unicode names and writes RFC 6266 dispositions', () => {
    expect(() => assertSafeFileName('Ferien am Meer – 2026.mp4')).not.toThrow();
    expect(contentDisposition('naïve "plan".pdf')).toBe(
      `inline; filename="na_ve _plan_.pdf"; filename*=UTF-8''na%C3%AFve%20%22plan%22.pdf`,
    );
  });
});

describe('protocol', () => {
  it("accepts the seed's body and refuses unknown fields by name", () => {
    expect(parseWith(SignRequestSchema, { size: 10, contentType: 'video/mp4' })).toEqual({ size: 10, contentType: 'video/mp4' });
    expect(() => parseWith(SignRequestSchema, { size: 10, contentType: 'video/mp4', acl: 'public-read' })).toThrow(/acl/);
  });

  it('refuses client-chosen keys with a message that says why', () => {
    expect(() => assertNoClientKey({ path: 'x' })).toThrow(/server chooses/);
  });

  it('checks checksum encodings', () => {
    const md5 = Buffer.alloc(16, 1).toString('base64');
    expect(() => parseWith(SignRequestSchema, { size: 1, contentType: 'a/b', checksum: { algorithm: 'md5', value: md5 } })).not.toThrow();
    expect(() => parseWith(SignRequestSchema, { size: 1, contentType: 'a/b', checksum: { algorithm: 'md5', value: 'abc' } })).toThrow(
      DropgateError,
    );
  });
});

describe('errors', () => {
  it('round-trips through a response body', () => {
    const error = new DropgateError('QUOTA_EXCEEDED', 'Over.', { remainingBytes: 5 });
    const rebuilt = errorFromBody(403, JSON.parse(JSON.stringify(error.toBody())));
    expect(rebuilt).toMatchObject({ code: 'QUOTA_EXCEEDED', status: 403, message: 'Over.', details: { remainingBytes: 5 } });
  });

  it('falls back on the status for bodies that are not ours', () => {
    expect(errorFromBody(429, '<Error/>').code).toBe('RATE_LIMITED');
    expect(errorFromBody(503, null).code).toBe('STORAGE_UNAVAILABLE');
  });
});
