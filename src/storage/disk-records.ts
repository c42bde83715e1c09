/**
 * What a multipart upload's folder says about its parts, read by the receiver, listParts and
 * complete alike.
 *
 * `{n}` is part n's record, in one of two kinds: a part file of its own (header + bytes, like an
 * object), or, for a part written straight into the upload's `data` file (disk-in-place.ts), a
 * header alone whose metadata adds the part's `offset` there. Either kind lands by a rename onto
 * `{n}`, so the last upload of a part to land replaces the one before, whichever kinds they are.
 */
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { DropgateError } from '../shared/errors.js';
import { damaged, decodeHeader, encodeHeader, type FileMeta, HEADER_BYTES, isErrno, storageError } from './disk-file.js';
import type { DiskLayout } from './disk-paths.js';

export interface PartRecord {
  size: number;
  /** Quoted hex MD5 of the part's bytes. */
  etag: string;
  /** Where the bytes start in `data`, counted after its header; absent for a part file of its own. */
  offset?: number;
}

/** The header-only record of a part written into `data` at `offset`. */
export function encodeInPlaceRecord(meta: FileMeta, offset: number): Buffer {
  const record: FileMeta & { offset: number } = { ...meta, offset };
  return encodeHeader(record);
}

/** Part n's record, or undefined when no upload of it has landed. */
export async function readPartRecord(file: string): Promise<PartRecord | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw storageError(error, 'reading a part');
  }
  try {
    const { size: fileSize } = await handle.stat();
    const meta = (await decodeHeader(handle)) as (FileMeta & { offset?: unknown }) | undefined;
    if (meta && typeof meta.offset === 'number' && fileSize === HEADER_BYTES) {
      return { size: meta.size, etag: meta.etag, offset: meta.offset };
    }
    if (meta && meta.offset === undefined && fileSize === HEADER_BYTES + meta.size) return { size: meta.size, etag: meta.etag };
    throw damaged();
  } catch (error) {
    throw storageError(error, 'reading a part');
  } finally {
    await handle.close();
  }
}

/**
 * The part size the upload's `data` file is laid out by, fixed by its first in-place part; undefined
 * while no part has claimed a place, or when the file does not hold a size (then no plan matches it
 * and every part goes to a file of its own).
 */
export async function readPlan(layout: DiskLayout, multipartId: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(layout.uploadFile(multipartId, 'plan'), 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw storageError(error, 'reading a multipart plan');
  }
  const partSize = Number(text);
  return /^\d+$/.test(text) && Number.isSafeInteger(partSize) ? partSize : undefined;
}

export function noSuchUpload(): DropgateError {
  return new DropgateError('NOT_FOUND', 'No such multipart upload (it was completed, aborted, or never started).', {
    reason: 'no-such-upload',
  });
}
