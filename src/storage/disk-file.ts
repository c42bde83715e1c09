/**
 * The disk store's file format and the filesystem moves it relies on.
 *
 * Each object (and each multipart part) is one file: a fixed 1 KiB header holding its metadata as
 * JSON, then the bytes. One file means one rename publishes bytes and metadata together: there is
 * no moment where a reader sees new bytes with old metadata, and no sidecar to orphan.
 */

import type { FileHandle } from 'node:fs/promises';
import { access, link, mkdir, open, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { DropgateError } from '../shared/errors.js';

export const HEADER_BYTES = 1024;
const MAGIC = 'dropgate-object-v1\n';

export interface FileMeta {
  /** Bytes after the header. */
  size: number;
  contentType: string;
  /** Quoted, as S3 sends it: `"<md5 hex>"`, or `"<hex>-<parts>"` for an assembled object. */
  etag: string;
  /** Milliseconds since the epoch. */
  lastModified: number;
}

export function encodeHeader(meta: FileMeta): Buffer {
  const text = `${MAGIC}${JSON.stringify(meta)}\n`;
  const header = Buffer.alloc(HEADER_BYTES, 0x20);
  if (header.write(text, 'utf8') < Buffer.byteLength(text)) {
    throw new DropgateError('INVALID_REQUEST', 'The object metadata does not fit the disk store header; use a shorter content type.');
  }
  return header;
}

/** The metadata in the first HEADER_BYTES of a file, or undefined when they are not one of our headers. */
export async function decodeHeader(handle: FileHandle): Promise<FileMeta | undefined> {
  const buffer = Buffer.alloc(HEADER_BYTES);
  const { bytesRead } = await handle.read(buffer, 0, HEADER_BYTES, 0);
  const text = buffer.toString('utf8', 0, bytesRead);
  if (bytesRead !== HEADER_BYTES || !text.startsWith(MAGIC)) return undefined;
  try {
    const meta = JSON.parse(text.slice(MAGIC.length)) as FileMeta;
    return typeof meta.size === 'number' ? meta : undefined;
  } catch {
    return undefined;
  }
}

/** The header of an open object file; throws when the file is not one of ours or is cut short. */
async function readHeader(handle: FileHandle, fileSize: number): Promise<FileMeta> {
  const meta = await decodeHeader(handle);
  if (!meta || fileSize !== HEADER_BYTES + meta.size) throw damaged();
  return meta;
}

export function damaged(): DropgateError {
  return new DropgateError('STORAGE_UNAVAILABLE', 'A file in the disk store is damaged (its header does not match its length).', {
    reason: 'corrupt',
  });
}

/** The open file and its metadata, or undefined when there is no such file. The caller closes it. */
export async function openWithMeta(file: string): Promise<{ handle: FileHandle; meta: FileMeta } | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if (isErrno(error, 'ENOENT', 'ENOTDIR', 'EISDIR')) return undefined;
    throw storageError(error, 'opening an object');
  }
  try {
    const stat = await handle.stat();
    // A key that names a folder of other keys is not an object.
    if (!stat.isFile()) {
      await handle.close();
      return undefined;
    }
    return { handle, meta: await readHeader(handle, stat.size) };
  } catch (error) {
    await handle.close();
    throw storageError(error, 'reading an object header');
  }
}

export async function readMeta(file: string): Promise<FileMeta | undefined> {
  const opened = await openWithMeta(file);
  if (!opened) return undefined;
  await opened.handle.close();
  return opened.meta;
}

/**
 * Moves a finished temp file to its place. With `exclusive`, an existing file is kept and the move
 * refused (link() fails on an existing name, where rename() would replace it).
 */
export async function publish(temp: string, target: string, options: { exclusive?: boolean; parents?: boolean } = {}): Promise<void> {
  try {
    if (options.parents !== false) await mkdir(path.dirname(target), { recursive: true });
  } catch (error) {
    throw isErrno(error, 'ENOTDIR', 'EEXIST') ? keyCollision() : storageError(error, 'publishing a file');
  }
  try {
    if (options.exclusive) {
      await link(temp, target);
      await unlink(temp);
    } else {
      await rename(temp, target);
    }
    await fsyncDir(path.dirname(target));
  } catch (error) {
    if (isErrno(error, 'EEXIST') && options.exclusive) {
      throw new DropgateError('FORBIDDEN', 'An object already exists at this key and the URL forbids replacing it.', {
        reason: 'object-exists',
      });
    }
    if (isErrno(error, 'ENOENT') && options.parents === false) {
      // Only parts publish without creating parents: their upload's folder was removed meanwhile.
      throw new DropgateError('NOT_FOUND', 'The multipart upload this part belongs to is gone (completed or aborted).', {
        reason: 'no-such-upload',
      });
    }
    throw isErrno(error, 'ENOTDIR', 'EISDIR') ? keyCollision() : storageError(error, 'publishing a file');
  }
}

// S3 lets `a` and `a/b` both be keys; a filesystem cannot. Server-made keys never collide like this.
function keyCollision(): DropgateError {
  return new DropgateError('INVALID_REQUEST', 'The storage key collides with a folder of other keys.', { field: 'key' });
}

/** Makes a rename durable: the new directory entry is only on disk once the directory is synced. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Whether `file` is there (any error reading it counts as not). */
export async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

export async function removeQuietly(file: string): Promise<void> {
  await rm(file, { force: true, recursive: true }).catch(() => undefined);
}

/**
 * Removes a folder that writers may still be renaming into: moving it away first makes those
 * renames fail cleanly instead of racing the recursive delete.
 */
export async function removeFolder(dir: string, trash: string): Promise<void> {
  try {
    await rename(dir, trash);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return;
    throw storageError(error, 'removing a folder');
  }
  await rm(trash, { recursive: true, force: true });
}

export function isErrno(error: unknown, ...codes: string[]): boolean {
  return error instanceof Error && codes.includes((error as NodeJS.ErrnoException).code ?? '');
}

const ERRNO_MESSAGES: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the storage folder is on a read-only filesystem',
  EACCES: 'permission to the storage folder is denied',
  EPERM: 'permission to the storage folder is denied',
  EMFILE: 'too many files are open',
  ENFILE: 'too many files are open',
  EIO: 'the disk reported an I/O error',
};

/** Translates filesystem errors into STORAGE_UNAVAILABLE (fail closed); DropgateErrors pass as they are. */
export function storageError(error: unknown, action: string): DropgateError {
  if (error instanceof DropgateError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const why = (code && ERRNO_MESSAGES[code]) ?? `it failed${code ? ` with ${code}` : ''}`;
  return new DropgateError('STORAGE_UNAVAILABLE', `The disk store could not finish ${action}: ${why}.`, code ? { reason: code } : {}, {
    cause: error,
  });
}
