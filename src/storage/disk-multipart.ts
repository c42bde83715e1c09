/**
 * Multipart uploads on disk, following S3's rules so clients need one code path: parts are
 * numbered 1..10000, every part but the last is at least 5 MiB, a part uploaded again replaces the
 * old one, and the assembled object's ETag is `md5(part md5s)-N`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DropgateError } from '../shared/errors.js';
import { MIN_PART_SIZE } from '../shared/parts.js';
import { assembleByCopy, assembleInPlace, fitsInPlace, holdData, type LandedPart } from './disk-assemble.js';
import { type FileMeta, fsyncDir, isErrno, publish, readMeta, removeFolder, storageError } from './disk-file.js';
import type { DiskLayout } from './disk-paths.js';
import { noSuchUpload, readPartRecord } from './disk-records.js';
import type { StoredPart } from './types.js';

interface UploadRecord {
  key: string;
  contentType: string;
  createdAt: number;
}

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
    const record = await readPartRecord(layout.partPath(multipartId, partNumber));
    if (record) parts.push({ partNumber, size: record.size, etag: record.etag });
  }
  return parts.sort((a, b) => a.partNumber - b.partNumber);
}

/**
 * Checks the caller's part list against what is stored, then assembles the object in order: in
 * place when the parts allow it, by copy otherwise (disk-assemble.ts).
 */
export async function completeMultipart(
  layout: DiskLayout,
  key: string,
  multipartId: string,
  parts: { partNumber: number; etag: string }[],
  nowMs: number,
): Promise<{ etag: string }> {
  const record = await readUploadRecord(layout, key, multipartId);
  if (parts.length === 0) throw integrity('The part list is empty.');
  for (const [index, part] of parts.entries()) {
    const previous = parts[index - 1];
    if (previous && part.partNumber <= previous.partNumber) throw integrity('Parts must be listed in ascending order, each once.');
  }
  // Held before the parts are read: from then on no part can land in place unseen.
  const hold = await holdData(layout, multipartId).catch((error: unknown) => {
    throw storageError(error, 'assembling a multipart upload');
  });
  let meta: FileMeta | undefined;
  try {
    const landed = await landedParts(layout, key, multipartId, parts);
    const digests = Buffer.concat(landed.map(({ record }) => Buffer.from(unquote(record.etag), 'hex')));
    meta = {
      size: landed.reduce((sum, { record }) => sum + record.size, 0),
      contentType: record.contentType,
      etag: `"${createHash('md5').update(digests).digest('hex')}-${parts.length}"`,
      lastModified: nowMs,
    };
    if (hold && fitsInPlace(landed, hold)) await assembleInPlace(layout, key, multipartId, landed, meta, hold);
    else await assembleByCopy(layout, key, multipartId, landed, meta);
  } catch (error) {
    if (meta && isErrno(error, 'ENOENT')) {
      // A complete racing this one published the same parts and took the upload away.
      if ((await readMeta(layout.objectPath(key)).catch(() => undefined))?.etag === meta.etag) return { etag: meta.etag };
      await readUploadRecord(layout, key, multipartId);
    }
    throw storageError(error, 'assembling a multipart upload');
  } finally {
    await hold?.release();
  }
  await removeFolder(layout.multipartDir(multipartId), layout.tempPath('trash'));
  return { etag: meta.etag };
}

/** The stored records of `parts`, each checked against its caller-given ETag and S3's size rule. */
async function landedParts(
  layout: DiskLayout,
  key: string,
  multipartId: string,
  parts: { partNumber: number; etag: string }[],
): Promise<LandedPart[]> {
  const landed: LandedPart[] = [];
  for (const [index, part] of parts.entries()) {
    const record = await readPartRecord(layout.partPath(multipartId, part.partNumber));
    if (!record) {
      // A concurrent complete or abort may have taken the whole upload away meanwhile.
      await readUploadRecord(layout, key, multipartId);
      throw integrity(`Part ${part.partNumber} was not uploaded.`);
    }
    if (unquote(record.etag) !== unquote(part.etag).toLowerCase())
      throw integrity(`Part ${part.partNumber}'s ETag does not match the stored part.`);
    if (index < parts.length - 1 && record.size < MIN_PART_SIZE) {
      throw integrity(`Part ${part.partNumber} is ${record.size} bytes; every part but the last must be at least ${MIN_PART_SIZE} bytes.`);
    }
    landed.push({ partNumber: part.partNumber, record });
  }
  return landed;
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
