import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { jsMd5Base64, md5Base64 } from './hash-part.js';
import { createMd5, toBase64 } from './md5.js';

const nodeMd5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('base64');

describe('createMd5', () => {
  it.each([
    ['', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['a', '0cc175b9c0f1b6a831c399e269772661'],
    ['abc', '900150983cd24fb0d6963f7d28e17f72'],
    ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
    ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', '57edf4a22be3c955ac49da2e2107b67a'],
  ])('matches the RFC 1321 test suite for %j', (text, hex) => {
    const digest = createMd5().update(new TextEncoder().encode(text)).digest();
    expect(Buffer.from(digest).toString('hex')).toBe(hex);
  });

  it('agrees with node:crypto at every length around the block and padding boundaries, fed in odd pieces', () => {
    const data = randomBytes(300);
    for (let length = 0; length <= 200; length++) {
      const bytes = data.subarray(0, length);
      const md5 = createMd5();
      for (let at = 0; at < length; at += 7) md5.update(bytes.subarray(at, at + 7));
      expect(toBase64(md5.digest()), `length ${length}`).toBe(nodeMd5(bytes));
    }
  });

  it('hashes megabytes the same as node:crypto', () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 13);
    expect(toBase64(createMd5().update(bytes).digest())).toBe(nodeMd5(bytes));
  });
});

describe('part hashers', () => {
  it('the default (node:crypto here) and the pure-JS one agree on a Blob read as a stream', async () => {
    const bytes = randomBytes(5 * 1024 * 1024 + 1);
    const blob = new Blob([bytes]);
    expect(await md5Base64(blob)).toBe(nodeMd5(bytes));
    expect(await jsMd5Base64(blob.slice(1000, 2_000_000))).toBe(nodeMd5(bytes.subarray(1000, 2_000_000)));
  });
});
