/**
 * Receiving an upload body into a temp file. The byte count is what arrives, never what
 * Content-Length claims: the write stops at the first byte past the signed size. Whatever goes
 * wrong, the temp file is removed before the error leaves this module.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { DropgateError } from '../shared/errors.js';
import { encodeHeader, type FileMeta, HEADER_BYTES, removeQuietly, storageError } from './disk-file.js';

export interface ExpectedBody {
  size: number;
  contentType: string;
  /** Base64 digests the bytes must have, when the URL signed one. */
  md5?: string;
  sha256?: string;
}

/**
 * Streams `body` into a new file at `temp` (header first, then the bytes), checks size and
 * checksums, and fsyncs. Returns the metadata written; on any failure the file is gone.
 */
export async function receiveBody(body: AsyncIterator<Uint8Array>, temp: string, expected: ExpectedBody, nowMs: number): Promise<FileMeta> {
  let handle: FileHandle;
  try {
    handle = await open(temp, 'wx', 0o644);
  } catch (error) {
    throw storageError(error, 'receiving an upload');
  }
  try {
    const meta = await receiveInto(body, handle, HEADER_BYTES, expected, nowMs);
    await writeAll(handle, encodeHeader(meta), 0);
    await handle.sync();
    await handle.close();
    return meta;
  } catch (error) {
    await handle.close().catch(() => undefined);
    await removeQuietly(temp);
    throw storageError(error, 'receiving an upload');
  }
}

/**
 * Streams `body` into `handle` from `position` on, checking size and checksums as the bytes come,
 * and returns their metadata. Writes no header and does not sync: the caller owns the file.
 */
export async function receiveInto(
  body: AsyncIterator<Uint8Array>,
  handle: FileHandle,
  position: number,
  expected: ExpectedBody,
  nowMs: number,
): Promise<FileMeta> {
  const md5 = createHash('md5');
  const sha256 = expected.sha256 === undefined ? undefined : createHash('sha256');
  let received = 0;
  // Chunks go to the file WRITE_BATCH bytes at a time, in one writev: node:http hands a body over
  // in ~64 KiB chunks, and one write each (a trip through libuv's pool) cost the gateway more CPU
  // than the writes themselves. Holding a chunk past the next read is safe: node:http and web
  // streams hand out a fresh buffer for every chunk.
  const batch: Uint8Array[] = [];
  let batched = 0;
  for (;;) {
    const step = await nextChunk(body);
    if (step.done) break;
    const chunk = step.value;
    if (received + chunk.length > expected.size) throw sizeMismatch(expected.size, `more than ${expected.size}`);
    md5.update(chunk);
    sha256?.update(chunk);
    batch.push(chunk);
    batched += chunk.length;
    received += chunk.length;
    if (batched >= WRITE_BATCH) {
      await writeAllOf(handle, batch, position + received - batched);
      batch.length = 0;
      batched = 0;
    }
  }
  if (received < expected.size) throw sizeMismatch(expected.size, String(received));
  if (batched > 0) await writeAllOf(handle, batch, position + received - batched);

  const md5Bytes = md5.digest();
  if (expected.md5 !== undefined && md5Bytes.toString('base64') !== expected.md5) throw checksumMismatch('MD5');
  if (sha256 && sha256.digest('base64') !== expected.sha256) throw checksumMismatch('SHA-256');
  return { size: received, contentType: expected.contentType, etag: `"${md5Bytes.toString('hex')}"`, lastModified: nowMs };
}

async function nextChunk(body: AsyncIterator<Uint8Array>): Promise<IteratorResult<Uint8Array>> {
  try {
    return await body.next();
  } catch (error) {
    throw new DropgateError(
      'INVALID_REQUEST',
      'The upload was interrupted before all of its bytes arrived.',
      { reason: 'interrupted' },
      { cause: error },
    );
  }
}

/** Bytes gathered before one write while receiving a body. */
const WRITE_BATCH = 1024 * 1024;

/** `chunks` written in order from `position`: one writev, and the rest in plain writes if it came up short. */
async function writeAllOf(handle: FileHandle, chunks: Uint8Array[], position: number): Promise<void> {
  const { bytesWritten } = await handle.writev(chunks, position);
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  if (bytesWritten < total) await writeAll(handle, Buffer.concat(chunks).subarray(bytesWritten), position + bytesWritten);
}

export async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset, position + offset);
    offset += bytesWritten;
  }
}

function sizeMismatch(expected: number, received: string): DropgateError {
  return new DropgateError('INVALID_REQUEST', `The URL was signed for exactly ${expected} bytes; ${received} arrived.`, {
    reason: 'size-mismatch',
    expectedBytes: expected,
  });
}

function checksumMismatch(algorithm: string): DropgateError {
  return new DropgateError('UPLOAD_INTEGRITY_FAILED', `The uploaded bytes do not match the signed ${algorithm} checksum.`, {
    reason: 'checksum-mismatch',
  });
}

/**
 * Reads and discards what is left of a refused body, up to `maxBytes`, so the refusal can be
 * answered on a healthy connection (closing on unread bytes makes the kernel reset it, and the
 * client may never see the answer). Gives up, returning false, past `maxBytes` or when the client
 * goes quiet for `idleMs`: the caller then closes the connection.
 */
export async function drain(body: AsyncIterator<Uint8Array>, maxBytes: number, idleMs = 1000): Promise<boolean> {
  let seen = 0;
  while (seen <= maxBytes) {
    const next = body.next();
    // If the timer wins, this read may still fail later; that is expected, not unhandled.
    next.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<'idle'>((resolve) => {
      timer = setTimeout(() => resolve('idle'), idleMs);
    });
    try {
      const step = await Promise.race([next, idle]);
      if (step === 'idle') return false;
      if (step.done) return true;
      seen += step.value.length;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
  return false;
}
