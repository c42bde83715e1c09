/**
 * Multipart uploads on disk, following S3's rules so clients need one code path: parts are
 * numbered 1..10000, every part but the last is at least 5 MiB, a part uploaded again replaces the
 * old one, and the assembled object's ETag is `md5(part md5s)-N`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DropgateError } from '../shared/errors.js';
import { MIN_PART_SIZE } from '../shared/parts.js';
import {
  encodeHeader,
  type FileMeta,
  fsyncDir,
  HEADER_BYTES,
  isErrno,
  publish,
  readMeta,
  removeFolder,
  removeQuietly,
  storageError,
} from './disk-file.js';
import type { DiskLayout } from './disk-paths.js';
import { writeAll } from './disk-write.js';
import type { StoredPart } from './types.js';

interface UploadRecord {
  key: string;
  contentType: string;
  createdAt: number;
}

const COPY_CHUNK = 1024 * 1024;

export async function createMultipart(
  layout: DiskLayout,
  key: string,
  contentType: string,
  nowMs: number,
): Promise<{ multipartId: string }> {
  layout.objectPath(key);
  const multipartId = randomBytes(18).toString('base64url');
  try {
    await layout.ready();
    // Built in .tmp and renamed in whole, so an upload id exists only once its record does.
    const staging = layout.tempPath('multipart');
    await mkdir(staging);
    const record: UploadRecord = { key, contentType, createdAt: nowMs };
    await writeFile(path.join(staging, 'upload.json'), JSON.stringify(record), { flag: 'wx', flush: true });
    await publish(staging, layout.multipartDir(multipartId));
  } catch (error) {
    throw storageError(error, 'starting a multipart upload');
  }
  return { multipartId };
}

/** The upload's record; NOT_FOUND when it is gone or belongs to another key. */
export async function readUploadRecord(layout: DiskLayout, key: string, multipartId: string): Promise<UploadRecord> {
  let record: UploadRecord;
  try {
    record = JSON.parse(await readFile(layout.uploadRecordPath(multipartId), 'utf8')) as UploadRecord;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) throw noSuchUpload();
    throw storageError(error, 'reading a multipart upload');
  }
  if (record.key !== key) throw noSuchUpload();
  return record;
}

export async function listParts(layout: DiskLayout, key: string, multipartId: string): Promise<StoredPart[]> {
  await readUploadRecord(layout, key, multipartId);
  let names: string[];
  try {
    names = await readdir(layout.multipartDir(multipartId));
  } catch (error) {
    if (isErrno(error, 'ENOENT')) throw noSuchUpload();
    throw storageError(error, 'listing parts');
  }
  const parts: StoredPart[] = [];
  for (const name of names) {
    if (!/^[1-9]\d{0,4}$/.test(name)) continue;
    const partNumber = Number(name);
    const meta = await readMeta(layout.partPath(multipartId, partNumber));
    if (meta) parts.push({ partNumber, size: meta.size, etag: meta.etag });
  }
  return parts.sort((a, b) => a.partNumber - b.partNumber);
}

/** Checks the caller's part list against what is stored, then assembles the object in order. */
export async function completeMultipart(
  layout: DiskLayout,
  key: string,
  multipartId: string,
  parts: { partNumber: number; etag: string }[],
  nowMs: number,
): Promise<{ etag: string }> {
  const record = await readUploadRecord(layout, key, multipartId);
  if (parts.length === 0) throw integrity('The part list is empty.');
  const metas: FileMeta[] = [];
  for (const [index, part] of parts.entries()) {
    const previous = parts[index - 1];
    if (previous && part.partNumber <= previous.partNumber) throw integrity('Parts must be listed in ascending order, each once.');
    const meta = await readMeta(layout.partPath(multipartId, part.partNumber));
    if (!meta) {
      // A concurrent complete or abort may have taken the whole upload away meanwhile.
      await readUploadRecord(layout, key, multipartId);
      throw integrity(`Part ${part.partNumber} was not uploaded.`);
    }
    if (unquote(meta.etag) !== unquote(part.etag).toLowerCase())
      throw integrity(`Part ${part.partNumber}'s ETag does not match the stored part.`);
    if (index < parts.length - 1 && meta.size < MIN_PART_SIZE) {
      throw integrity(`Part ${part.partNumber} is ${meta.size} bytes; every part but the last must be at least ${MIN_PART_SIZE} bytes.`);
    }
    metas.push(meta);
  }

  const digests = Buffer.concat(metas.map((meta) => Buffer.from(unquote(meta.etag), 'hex')));
  const meta: FileMeta = {
    size: metas.reduce((sum, m) => sum + m.size, 0),
    contentType: record.contentType,
    etag: `"${createHash('md5').update(digests).digest('hex')}-${parts.length}"`,
    lastModified: nowMs,
  };
  const temp = layout.tempPath('assemble');
  try {
    await assemble(
      temp,
      meta,
      parts.map((part) => layout.partPath(multipartId, part.partNumber)),
    );
    await publish(temp, layout.objectPath(key));
  } catch (error) {
    await removeQuietly(temp);
    throw storageError(error, 'assembling a multipart upload');
  }
  await removeFolder(layout.multipartDir(multipartId), layout.tempPath('trash'));
  return { etag: meta.etag };
}

async function assemble(temp: string, meta: FileMeta, partFiles: string[]): Promise<void> {
  const out = await open(temp, 'wx', 0o644);
  try {
    const buffer = Buffer.alloc(COPY_CHUNK);
    let position = HEADER_BYTES;
    for (const file of partFiles) {
      const part = await open(file, 'r');
      try {
        for (let offset = HEADER_BYTES; ; ) {
          const { bytesRead } = await part.read(buffer, 0, COPY_CHUNK, offset);
          if (bytesRead === 0) break;
          await writeAll(out, buffer.subarray(0, bytesRead), position);
          offset += bytesRead;
          position += bytesRead;
        }
      } finally {
        await part.close();
      }
    }
    if (position !== HEADER_BYTES + meta.size) throw integrity('A part changed while the object was being assembled.');
    await writeAll(out, encodeHeader(meta), 0);
    await out.sync();
  } finally {
    await out.close();
  }
}

/** Drops the upload and its parts; no error when it is already gone. */
export async function abortMultipart(layout: DiskLayout, key: string, multipartId: string): Promise<void> {
  try {
    await readUploadRecord(layout, key, multipartId);
  } catch (error) {
    if (error instanceof DropgateError && error.code === 'NOT_FOUND') {
      // Gone already, or a key that is not its own: either way there is nothing of this key's to drop.
      return;
    }
    throw error;
  }
  await removeFolder(layout.multipartDir(multipartId), layout.tempPath('trash'));
  await fsyncDir(layout.multipart).catch(() => undefined);
}

function unquote(etag: string): string {
  return etag.replace(/^(?:W\/)?"(.*)"$/, '$1');
}

function integrity(message: string): DropgateError {
  return new DropgateError('UPLOAD_INTEGRITY_FAILED', message, { reason: 'invalid-part-list' });
}

function noSuchUpload(): DropgateError {
  return new DropgateError('NOT_FOUND', 'No such multipart upload (it was completed, aborted, or never started).', {
    reason: 'no-such-upload',
  });
}
