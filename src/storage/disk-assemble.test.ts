/**
 * Multipart completes on the disk store that cannot publish the upload's data file as it is: parts
 * of free sizes, parts off the plan, a writer still at work in the file, a complete racing another,
 * an abort mid-part. Each must still give exactly the listed bytes, or nothing.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { access, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DropgateError } from '../shared/errors.js';
import { MiB } from '../shared/sizes.js';
import { holdData } from './disk-assemble.js';
import { HEADER_BYTES } from './disk-file.js';
import { openPut, useDiskServer, waitFor } from './disk-fixtures.contract.js';
import { createLayout } from './disk-paths.js';
import { sendWithFetch } from './storage.contract.js';

const PART = 5 * MiB;
const md5Hex = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

describe('disk multipart complete, by copy where it must', () => {
  const disk = useDiskServer();
  const uploadDir = (id: string) => path.join(disk.server.directory, '.multipart', id);
  const objectFile = (key: string) => path.join(disk.server.directory, 'objects', key);
  const inode = async (file: string) => (await stat(file)).ino;
  const exists = (file: string) =>
    access(file).then(
      () => true,
      () => false,
    );
  const contents = async (key: string) => Buffer.from(await disk.storage.readRange(key, 0, 1e9));
  const start = async () => {
    const key = `uploads/${randomUUID()}.mp4`;
    return { key, ...(await disk.storage.createMultipart(key, 'video/mp4')) };
  };
  type Upload = Awaited<ReturnType<typeof start>>;
  const sign = (u: Upload, partNumber: number, size: number, partSize?: number) =>
    disk.storage.presignPart({ ...u, partNumber, size, expiresIn: 600, ...(partSize !== undefined && { partSize }) });
  const upload = async (u: Upload, partNumber: number, bytes: Uint8Array, partSize?: number) => {
    const response = await sendWithFetch(sign(u, partNumber, bytes.length, partSize), bytes);
    expect(response.status, `part ${partNumber}`).toBe(200);
    return { partNumber, etag: response.headers.get('etag') as string };
  };
  /** A part upload held mid-body once its place in the data file is claimed. */
  const holdMidBody = async (u: Upload, partNumber: number, bytes: Uint8Array, partSize: number) => {
    const put = openPut(sign(u, partNumber, bytes.length, partSize).url, { 'content-length': String(bytes.length) });
    put.request.on('error', () => undefined);
    put.request.write(bytes.subarray(0, bytes.length - 10));
    await waitFor(() => exists(path.join(uploadDir(u.multipartId), `${partNumber}.claim`)), 'the part to claim its place');
    return { finish: () => put.request.end(bytes.subarray(bytes.length - 10)), response: put.response };
  };

  it('assembles parts of free sizes (S3-style callers give no plan) by copy', async () => {
    const u = await start();
    const chunks = [randomBytes(PART + 3), randomBytes(PART), randomBytes(100)];
    const parts: { partNumber: number; etag: string }[] = [];
    for (const [i, bytes] of chunks.entries()) parts.push(await upload(u, i + 1, bytes));
    expect(await exists(path.join(uploadDir(u.multipartId), 'data'))).toBe(false);
    await disk.storage.completeMultipart(u.key, u.multipartId, parts);
    expect((await contents(u.key)).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('assembles by copy when parts written in place are shorter than their plan says', async () => {
    const u = await start();
    // Part 1 lands at 0 and part 2 at 6 MiB, but the object needs part 2 right after part 1's 5 MiB.
    const chunks = [randomBytes(PART), randomBytes(PART)];
    const parts = [await upload(u, 1, chunks[0] as Buffer, 6 * MiB), await upload(u, 2, chunks[1] as Buffer, 6 * MiB)];
    const data = await inode(path.join(uploadDir(u.multipartId), 'data'));
    await disk.storage.completeMultipart(u.key, u.multipartId, parts);
    expect(await inode(objectFile(u.key))).not.toBe(data);
    expect((await contents(u.key)).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('sends a part signed with another plan to a file of its own, and still publishes in place', async () => {
    const u = await start();
    const chunks = [randomBytes(PART), randomBytes(PART), randomBytes(PART - 1)];
    const parts = [await upload(u, 1, chunks[0] as Buffer, PART), await upload(u, 2, chunks[1] as Buffer, 8 * MiB)];
    parts.push(await upload(u, 3, chunks[2] as Buffer, PART));
    expect((await stat(path.join(uploadDir(u.multipartId), '2'))).size).toBe(HEADER_BYTES + PART);
    const data = await inode(path.join(uploadDir(u.multipartId), 'data'));
    await disk.storage.completeMultipart(u.key, u.multipartId, parts);
    expect(await inode(objectFile(u.key))).toBe(data);
    expect((await contents(u.key)).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('copies rather than publish a data file a writer is still at work in, which then finds the upload gone', async () => {
    const u = await start();
    const chunks = [randomBytes(PART), randomBytes(PART)];
    const first = await upload(u, 1, chunks[0] as Buffer, PART);
    // Part 2's place is claimed by an upload held mid-body; another upload of part 2 lands meanwhile.
    const late = await holdMidBody(u, 2, randomBytes(PART), PART);
    const second = await upload(u, 2, chunks[1] as Buffer, PART);
    const data = await inode(path.join(uploadDir(u.multipartId), 'data'));
    await disk.storage.completeMultipart(u.key, u.multipartId, [first, second]);
    expect(await inode(objectFile(u.key))).not.toBe(data);
    late.finish();
    expect((await late.response).status).toBe(404);
    expect(await disk.storage.head(u.key)).toMatchObject({ size: 2 * PART });
    expect((await contents(u.key)).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('leaves every landed part usable after a complete that failed (its key collides with an object)', async () => {
    const base = `uploads/${randomUUID()}`;
    const blocker = randomBytes(10);
    const put = disk.storage.presignPut({ key: base, size: blocker.length, contentType: 'video/mp4', expiresIn: 600 });
    expect((await sendWithFetch(put, blocker)).status).toBe(200);
    const key = `${base}/clip.mp4`;
    const u = { key, ...(await disk.storage.createMultipart(key, 'video/mp4')) };
    const chunks = [randomBytes(PART), randomBytes(PART), randomBytes(PART - 1)];
    const parts: { partNumber: number; etag: string }[] = [];
    for (const [i, bytes] of chunks.entries()) parts.push(await upload(u, i + 1, bytes, PART));
    // A complete without the last part must not cut part 3 off the data file on its way, and one
    // with every part must leave the data file writable in place when its publish fails.
    for (const listed of [parts.slice(0, 2), parts]) {
      await expect(disk.storage.completeMultipart(key, u.multipartId, listed)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    }
    await disk.storage.delete(base);
    const data = await inode(path.join(uploadDir(u.multipartId), 'data'));
    await disk.storage.completeMultipart(key, u.multipartId, parts);
    expect(await inode(objectFile(key))).toBe(data);
    expect((await contents(key)).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('sends a part that arrives while a complete holds the data file to a file of its own', async () => {
    const u = await start();
    const bytes = randomBytes(PART);
    const hold = await holdData(createLayout(disk.server.directory), u.multipartId);
    expect(hold).toBeDefined();
    // A second complete finds the file held, and would copy.
    expect(await holdData(createLayout(disk.server.directory), u.multipartId)).toBeUndefined();
    const part = await upload(u, 1, bytes, PART);
    expect((await stat(path.join(uploadDir(u.multipartId), '1'))).size).toBe(HEADER_BYTES + PART);
    await hold?.release();
    expect((await upload(u, 2, bytes, PART)).etag).toBe(`"${md5Hex(bytes)}"`);
    expect((await stat(path.join(uploadDir(u.multipartId), '2'))).size).toBe(HEADER_BYTES);
    await disk.storage.completeMultipart(u.key, u.multipartId, [part, { partNumber: 2, etag: md5Hex(bytes) }]);
    expect((await contents(u.key)).equals(Buffer.concat([bytes, bytes]))).toBe(true);
  });

  it('gives racing completes one object: each answers its ETag or that the upload is gone', async () => {
    // The window where one complete has published `data` and not yet removed the upload is short:
    // enough rounds that a complete falling into it is seen.
    for (let round = 0; round < 12; round++) {
      const u = await start();
      const chunks = [randomBytes(PART), randomBytes(10)];
      const parts = [await upload(u, 1, chunks[0] as Buffer, PART), await upload(u, 2, chunks[1] as Buffer, PART)];
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, () => disk.storage.completeMultipart(u.key, u.multipartId, parts)),
      );
      const etags = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.etag] : []));
      expect(etags.length).toBeGreaterThan(0);
      expect(new Set(etags).size).toBe(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'NOT_FOUND' });
      expect((await contents(u.key)).equals(Buffer.concat(chunks))).toBe(true);
      expect(await exists(uploadDir(u.multipartId))).toBe(false);
    }
  });

  it('aborts mid-part: the data file goes with the upload, and the writer finds it gone', async () => {
    const u = await start();
    await upload(u, 1, randomBytes(PART), PART);
    const late = await holdMidBody(u, 2, randomBytes(PART), PART);
    expect(await exists(path.join(uploadDir(u.multipartId), 'data'))).toBe(true);
    await disk.storage.abortMultipart(u.key, u.multipartId);
    expect(await exists(uploadDir(u.multipartId))).toBe(false);
    late.finish();
    expect((await late.response).status).toBe(404);
    await expect(disk.storage.listParts(u.key, u.multipartId)).rejects.toBeInstanceOf(DropgateError);
    await waitFor(async () => (await readdir(path.join(disk.server.directory, '.tmp'))).length === 0, 'the temp files to go');
    expect(await disk.storage.head(u.key)).toBeUndefined();
  });
});
