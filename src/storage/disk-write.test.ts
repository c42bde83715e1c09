import { createHash, randomBytes } from 'node:crypto';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADER_BYTES, readMeta } from './disk-file.js';
import { receiveBody } from './disk-write.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'dropgate-disk-write-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `bytes` as a body arriving in chunks of the given sizes, each a fresh buffer, as node:http hands them over. */
async function* chunked(bytes: Buffer, sizes: () => number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; ) {
    const n = Math.min(sizes(), bytes.length - offset);
    yield Buffer.from(bytes.subarray(offset, offset + n));
    offset += n;
  }
}

const md5 = (bytes: Buffer) => createHash('md5').update(bytes);

describe('receiveBody', () => {
  it('writes every byte in order, whatever the chunk sizes, across the batched writes', async () => {
    // 3 MiB + 7: several 1 MiB batches, a batch that ends mid-chunk, and a short tail.
    const bytes = randomBytes(3 * 1024 * 1024 + 7);
    const sizes = [1, 65_536, 700_001, 13, 1_048_576, 300_000];
    let i = 0;
    const file = path.join(dir, 'ordered');
    const meta = await receiveBody(
      chunked(bytes, () => sizes[i++ % sizes.length]!),
      file,
      { size: bytes.length, contentType: 'video/mp4', md5: md5(bytes).digest('base64') },
      0,
    );
    expect(meta.size).toBe(bytes.length);
    expect(meta.etag).toBe(`"${md5(bytes).digest('hex')}"`);
    const stored = await readFile(file);
    expect(stored.length).toBe(HEADER_BYTES + bytes.length);
    expect(stored.subarray(HEADER_BYTES).equals(bytes)).toBe(true);
    expect(await readMeta(file)).toMatchObject({ size: bytes.length, contentType: 'video/mp4' });
  });

  it('refuses a body one byte short or long, or with another MD5, and leaves no file', async () => {
    const bytes = randomBytes(1024 * 1024 + 3);
    const cases = [
      { body: bytes.subarray(1), expected: { size: bytes.length }, error: /exactly/ },
      { body: Buffer.concat([bytes, Buffer.from([0])]), expected: { size: bytes.length }, error: /exactly/ },
      { body: bytes, expected: { size: bytes.length, md5: md5(randomBytes(8)).digest('base64') }, error: /MD5/ },
    ];
    for (const [n, c] of cases.entries()) {
      const file = path.join(dir, `refused-${n}`);
      await expect(
        receiveBody(
          chunked(c.body, () => 65_536),
          file,
          { contentType: 'video/mp4', ...c.expected },
          0,
        ),
      ).rejects.toThrow(c.error);
      await expect(access(file)).rejects.toThrow(/ENOENT/);
    }
  });
});
