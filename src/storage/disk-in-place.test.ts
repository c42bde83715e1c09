/**
 * Multipart parts written straight into their place in the upload's data file: they land once, and
 * complete publishes that file itself. The bytes are checked end to end; "no copy" is checked as
 * the object being the very file (same inode) the parts were written into.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { access, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MiB } from '../shared/sizes.js';
import { HEADER_BYTES } from './disk-file.js';
import { forgeUrl, openPut, putChunked, startDiskServer, useDiskServer, waitFor } from './disk-fixtures.contract.js';
import { sendWithFetch } from './storage.contract.js';
import type { Storage } from './types.js';

const PART = 5 * MiB;
const md5Hex = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');
const md5Base64 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('base64');
const bare = (etag: string) => etag.replace(/^"(.*)"$/, '$1');
const objectEtag = (parts: Uint8Array[]) =>
  `"${createHash('md5')
    .update(Buffer.concat(parts.map((p) => Buffer.from(md5Hex(p), 'hex'))))
    .digest('hex')}-${parts.length}"`;

describe('disk multipart parts written in place', () => {
  const disk = useDiskServer();
  const uploadDir = (id: string) => path.join(disk.server.directory, '.multipart', id);
  const inode = async (file: string) => (await stat(file)).ino;
  const contents = async (key: string) => Buffer.from(await disk.storage.readRange(key, 0, 1e9));
  const start = async () => {
    const key = `uploads/${randomUUID()}.mp4`;
    return { key, ...(await disk.storage.createMultipart(key, 'video/mp4')) };
  };
  const sign = (
    u: { key: string; multipartId: string },
    partNumber: number,
    bytes: Uint8Array,
    extra = {},
    storage: Storage = disk.storage,
  ) => storage.presignPart({ ...u, partNumber, size: bytes.length, partSize: PART, expiresIn: 600, ...extra });
  const upload = async (u: { key: string; multipartId: string }, partNumber: number, bytes: Uint8Array) => {
    const response = await sendWithFetch(sign(u, partNumber, bytes), bytes);
    expect(response.status, `part ${partNumber}`).toBe(200);
    return { partNumber, etag: response.headers.get('etag') as string };
  };
  /** Starts a part upload, sends `sent` bytes of it, and waits until the receiver holds them. */
  const begin = async (url: string, bytes: Uint8Array, sent: number, holds: () => Promise<boolean>) => {
    const put = openPut(url, { 'content-length': String(bytes.length) });
    put.request.on('error', () => undefined);
    put.response.catch(() => undefined);
    put.request.write(bytes.subarray(0, sent));
    await waitFor(holds, 'the receiver to hold the part');
    return put;
  };
  const claimed = (id: string, partNumber: number) => () =>
    access(path.join(uploadDir(id), `${partNumber}.claim`)).then(
      () => true,
      () => false,
    );

  it('lands parts out of order, the last one short, and publishes the data file itself as the object', async () => {
    const u = await start();
    const chunks = [randomBytes(PART), randomBytes(PART), randomBytes(1000 + 7)];
    const parts = [];
    for (const n of [3, 1, 2]) parts.push(await upload(u, n, chunks[n - 1] as Buffer));
    parts.sort((a, b) => a.partNumber - b.partNumber);
    // Each record is a header alone: the bytes themselves went into the data file, once.
    for (const n of [1, 2, 3]) expect((await stat(path.join(uploadDir(u.multipartId), String(n)))).size).toBe(HEADER_BYTES);
    expect(await disk.storage.listParts(u.key, u.multipartId)).toEqual(
      chunks.map((c, i) => ({ partNumber: i + 1, size: c.length, etag: `"${md5Hex(c)}"` })),
    );
    const data = await inode(path.join(uploadDir(u.multipartId), 'data'));
    expect(await disk.storage.head(u.key)).toBeUndefined();

    const { etag } = await disk.storage.completeMultipart(u.key, u.multipartId, parts);
    expect(etag).toBe(objectEtag(chunks));
    expect(await inode(path.join(disk.server.directory, 'objects', u.key))).toBe(data);
    expect((await contents(u.key)).equals(Buffer.concat(chunks))).toBe(true);
    expect(await disk.storage.head(u.key)).toMatchObject({ size: 2 * PART + 1007, contentType: 'video/mp4', etag });
    await expect(access(uploadDir(u.multipartId))).rejects.toThrow();
  });

  it('leaves out of the object the bytes a refused upload of a later part wrote past its end', async () => {
    const u = await start();
    const chunks = [randomBytes(PART), randomBytes(PART)];
    const parts = [await upload(u, 1, chunks[0] as Buffer), await upload(u, 2, chunks[1] as Buffer)];
    const refused = randomBytes(PART);
    expect((await sendWithFetch(sign(u, 3, refused, { md5: md5Base64(chunks[0] as Buffer) }), refused)).status).toBe(422);
    const data = path.join(uploadDir(u.multipartId), 'data');
    expect((await stat(data)).size).toBe(HEADER_BYTES + 3 * PART);
    const ino = await inode(data);
    await disk.storage.completeMultipart(u.key, u.multipartId, parts);
    expect(await inode(path.join(disk.server.directory, 'objects', u.key))).toBe(ino);
    expect(await disk.storage.head(u.key)).toMatchObject({ size: 2 * PART });
    expect((await contents(u.key)).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('replaces a part landed in place with its re-upload, which complete alone copies into place', async () => {
    const u = await start();
    const [one, two, again] = [randomBytes(PART), randomBytes(PART), randomBytes(PART)];
    const old = await upload(u, 1, one);
    const second = await upload(u, 2, two);
    const replaced = await upload(u, 1, again);
    expect((await disk.storage.listParts(u.key, u.multipartId)).map((p) => bare(p.etag))).toEqual([md5Hex(again), md5Hex(two)]);
    await expect(disk.storage.completeMultipart(u.key, u.multipartId, [old, second])).rejects.toMatchObject({
      code: 'UPLOAD_INTEGRITY_FAILED',
    });

    const data = await inode(path.join(uploadDir(u.multipartId), 'data'));
    await disk.storage.completeMultipart(u.key, u.multipartId, [replaced, second]);
    expect(await inode(path.join(disk.server.directory, 'objects', u.key))).toBe(data);
    expect((await contents(u.key)).equals(Buffer.concat([again, two]))).toBe(true);
  });

  it('keeps a landed part whole through re-uploads that are cut, too long, or fail their MD5', async () => {
    const u = await start();
    const chunks = [randomBytes(PART), randomBytes(PART)];
    const parts = [await upload(u, 1, chunks[0] as Buffer), await upload(u, 2, chunks[1] as Buffer)];
    const other = randomBytes(PART);
    const receiving = async () => (await readdir(path.join(disk.server.directory, '.tmp'))).some((name) => name.startsWith('part-'));

    const cut = await begin(sign(u, 1, other).url, other, PART / 2, receiving);
    // Let the receiver write what it got before the connection goes.
    await new Promise((resolve) => setTimeout(resolve, 100));
    cut.request.destroy();
    await waitFor(async () => !(await receiving()), 'the cut upload to be dropped');
    expect((await putChunked(sign(u, 1, other).url, {}, Buffer.concat([other, Buffer.from('x')]))).status).toBe(400);
    expect((await sendWithFetch(sign(u, 1, other, { md5: md5Base64(chunks[0] as Buffer) }), other)).status).toBe(422);

    expect((await disk.storage.listParts(u.key, u.multipartId)).map((p) => bare(p.etag))).toEqual(chunks.map(md5Hex));
    await disk.storage.completeMultipart(u.key, u.multipartId, parts);
    expect((await contents(u.key)).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('frees the place of a first upload that was cut, so the next one still lands in place', async () => {
    const u = await start();
    const bytes = randomBytes(PART);
    const cut = await begin(sign(u, 1, bytes).url, bytes, PART / 2, claimed(u.multipartId, 1));
    cut.request.destroy();
    await waitFor(async () => !(await claimed(u.multipartId, 1)()), 'the claim to be released');
    expect(await disk.storage.listParts(u.key, u.multipartId)).toEqual([]);

    const part = await upload(u, 1, bytes);
    const data = await inode(path.join(uploadDir(u.multipartId), 'data'));
    await disk.storage.completeMultipart(u.key, u.multipartId, [part]);
    expect(await inode(path.join(disk.server.directory, 'objects', u.key))).toBe(data);
    expect((await contents(u.key)).equals(bytes)).toBe(true);
  });

  it.each([
    ['the upload in place', 'in-place'],
    ['the upload into a file of its own', 'own-file'],
  ])(
    'lets two concurrent uploads of one part number land, through two gateways sharing the folder: the object holds %s that landed last',
    async (_what, last) => {
      const other = await startDiskServer({ directory: disk.server.directory });
      try {
        const u = await start();
        const [a, b] = [randomBytes(PART), randomBytes(PART)];
        const tail = randomBytes(100);
        const tailPart = await upload(u, 2, tail);
        // a claims part 1's place and is held mid-body; b, through the other gateway, finds it taken.
        const inPlace = await begin(sign(u, 1, a).url, a, PART - 10, claimed(u.multipartId, 1));
        let winner: Buffer;
        if (last === 'in-place') {
          expect((await sendWithFetch(sign(u, 1, b, {}, other.storage), b)).status).toBe(200);
          inPlace.request.end(a.subarray(PART - 10));
          expect((await inPlace.response).status).toBe(200);
          winner = a;
        } else {
          const ownFile = await begin(sign(u, 1, b, {}, other.storage).url, b, PART - 10, async () => true);
          inPlace.request.end(a.subarray(PART - 10));
          expect((await inPlace.response).status).toBe(200);
          ownFile.request.end(b.subarray(PART - 10));
          expect((await ownFile.response).status).toBe(200);
          winner = b;
        }
        const listed = await disk.storage.listParts(u.key, u.multipartId);
        expect(listed.map((p) => bare(p.etag))).toEqual([md5Hex(winner), md5Hex(tail)]);
        const data = await inode(path.join(uploadDir(u.multipartId), 'data'));
        await other.storage.completeMultipart(u.key, u.multipartId, [{ partNumber: 1, etag: md5Hex(winner) }, tailPart]);
        expect(await inode(path.join(disk.server.directory, 'objects', u.key))).toBe(data);
        expect((await contents(u.key)).equals(Buffer.concat([winner, tail]))).toBe(true);
      } finally {
        await other.close();
      }
    },
  );

  it('lets one of two racing uploads through one part URL land, and refuses a replay of it', async () => {
    const u = await start();
    const signed = sign(u, 1, randomBytes(PART));
    const bodies = [randomBytes(PART), randomBytes(PART)];
    const responses = await Promise.all(bodies.map((body) => sendWithFetch(signed, body)));
    expect(responses.map((r) => r.status).sort()).toEqual([200, 403]);
    const winner = bodies[responses.findIndex((r) => r.status === 200)] as Buffer;
    expect((await sendWithFetch(signed, randomBytes(PART))).status).toBe(403);
    expect((await disk.storage.listParts(u.key, u.multipartId)).map((p) => bare(p.etag))).toEqual([md5Hex(winner)]);
    await disk.storage.completeMultipart(u.key, u.multipartId, [{ partNumber: 1, etag: md5Hex(winner) }]);
    expect((await contents(u.key)).equals(winner)).toBe(true);
  });

  it('binds the part size into the URL, and refuses one shorter than the part', async () => {
    const u = await start();
    const bytes = randomBytes(1000);
    expect(() => sign(u, 1, bytes, { partSize: 999 })).toThrow(/partSize/);
    let signed: unknown;
    const forged = forgeUrl(sign(u, 1, bytes).url, (claims) => {
      signed = claims.partSize;
      claims.partSize = 10;
    });
    expect(signed).toBe(PART);
    const response = await sendWithFetch({ url: forged, method: 'PUT', headers: {}, expiresAt: new Date() }, bytes);
    expect(response.status).toBe(403);
    expect(await disk.storage.listParts(u.key, u.multipartId)).toEqual([]);
  });
});
