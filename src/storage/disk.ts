/**
 * The disk store: the embedded default, like Rails ActiveStorage's Disk service. Its "presigned"
 * URLs point back at the gateway (`{baseUrl}/{token}`), whose receiver checks the token and writes
 * the bytes, so client code is the same for disk and S3.
 */
import { unlink } from 'node:fs/promises';
import { DropgateError } from '../shared/errors.js';
import { MAX_PART_SIZE, MAX_SINGLE_PUT } from '../shared/parts.js';
import { ChecksumSchema, parseWith } from '../shared/protocol.js';
import { type CleanupOptions, type CleanupResult, cleanupDisk } from './disk-cleanup.js';
import { HEADER_BYTES, isErrno, openWithMeta, readMeta, storageError } from './disk-file.js';
import * as multipart from './disk-multipart.js';
import { createLayout } from './disk-paths.js';
import { createDiskReceiver, type DiskContext } from './disk-receiver.js';
import { createTokenSigner, newNonce } from './disk-token.js';
import { checkContentType, checkExpiresIn, checkSize } from './target-checks.js';
import type { GetOptions, ObjectInfo, PartTarget, PresignedRequest, PutTarget, ReceivingStorage } from './types.js';

export interface DiskStorageOptions {
  /** Folder for objects and bookkeeping; created on first use. */
  directory: string;
  /** HMAC key for the URL tokens: at least 32 bytes, the same on every gateway instance. */
  secret: string | Uint8Array;
  /** Absolute URL where the gateway mounts the receiver, e.g. `http://localhost:3000/api/upload/_disk`. */
  baseUrl: string;
  /** The clock, as the server takes it; tests move it to expire URLs. */
  now?: () => Date;
}

export interface DiskStorage extends ReceivingStorage {
  readonly kind: 'disk';
  /** Absolute path of the storage folder. */
  readonly directory: string;
  /** The disk store always has one: a permanent token URL served by the receiver. */
  publicUrl(key: string): string;
  /** Removes used-token markers past their expiry and abandoned temp files. */
  cleanup(options?: CleanupOptions): Promise<CleanupResult>;
}

/**
 * The disk store. Its URLs only work where the gateway mounts `storage.receiver` (at
 * `{base}/_disk/`), and only on gateways that share `directory` and `secret`.
 * @example
 * const storage = createDiskStorage({
 *   directory: '.dropgate',
 *   secret: process.env.DROPGATE_SECRET!,
 *   baseUrl: 'http://localhost:3000/api/upload/_disk',
 * });
 * const put = storage.presignPut({ key: 'uploads/a.mp4', size: 1234, contentType: 'video/mp4', expiresIn: 600 });
 * // put.url === 'http://localhost:3000/api/upload/_disk/eyJ2Ijox…'
 */
export function createDiskStorage(options: DiskStorageOptions): DiskStorage {
  if (typeof options.directory !== 'string' || options.directory === '') {
    throw new DropgateError('INVALID_REQUEST', 'The disk store needs a `directory`.', { option: 'directory' });
  }
  const baseUrl = checkBaseUrl(options.baseUrl);
  const layout = createLayout(options.directory);
  const clock = options.now;
  const now = clock ? () => clock().getTime() : Date.now;
  const ctx: DiskContext = { layout, signer: createTokenSigner(options.secret), now };
  const url = (token: string) => `${baseUrl}/${token}`;
  const expiry = (expiresIn: number) => {
    checkExpiresIn(expiresIn);
    return now() + expiresIn * 1000;
  };

  return {
    kind: 'disk',
    capabilities: { conditionalWrite: true, maxSinglePutBytes: MAX_SINGLE_PUT },
    directory: layout.root,
    receiver: createDiskReceiver(ctx),

    presignPut(target: PutTarget): PresignedRequest {
      layout.objectPath(target.key);
      checkSize(target.size, MAX_SINGLE_PUT);
      checkContentType(target.contentType);
      const checksum = target.checksum && parseWith(ChecksumSchema, target.checksum, 'checksum');
      const exp = expiry(target.expiresIn);
      const { key, size, contentType } = target;
      const token = ctx.signer.sign({
        op: 'put',
        key,
        size,
        contentType,
        ...(checksum && { checksum }),
        ...(target.ifNoneMatch && { ifNoneMatch: true }),
        exp,
        nonce: newNonce(),
      });
      const headers: Record<string, string> = { 'content-type': contentType };
      if (checksum?.algorithm === 'md5') headers['content-md5'] = checksum.value;
      if (checksum?.algorithm === 'sha256') headers['x-amz-checksum-sha256'] = checksum.value;
      if (target.ifNoneMatch) headers['if-none-match'] = '*';
      return { url: url(token), method: 'PUT', headers, expiresAt: new Date(exp) };
    },

    presignPart(target: PartTarget): PresignedRequest {
      layout.partPath(target.multipartId, target.partNumber);
      layout.objectPath(target.key);
      checkSize(target.size, MAX_PART_SIZE);
      if (target.md5 !== undefined) parseWith(ChecksumSchema, { algorithm: 'md5', value: target.md5 }, 'part MD5');
      const { key, multipartId, partNumber, size, md5, partSize } = target;
      if (partSize !== undefined) checkPartSize(partSize, size);
      const exp = expiry(target.expiresIn);
      const token = ctx.signer.sign({
        op: 'part',
        key,
        multipartId,
        partNumber,
        size,
        ...(md5 !== undefined && { md5 }),
        ...(partSize !== undefined && { partSize }),
        exp,
        nonce: newNonce(),
      });
      return { url: url(token), method: 'PUT', headers: md5 === undefined ? {} : { 'content-md5': md5 }, expiresAt: new Date(exp) };
    },

    presignGet(key: string, get: GetOptions): PresignedRequest {
      layout.objectPath(key);
      const exp = expiry(get.expiresIn);
      const fileName = get.fileName;
      const token = ctx.signer.sign({ op: 'get', key, ...(fileName !== undefined && { fileName }), exp, nonce: newNonce() });
      return { url: url(token), method: 'GET', headers: {}, expiresAt: new Date(exp) };
    },

    publicUrl(key: string): string {
      layout.objectPath(key);
      return url(ctx.signer.sign({ op: 'read-public', key }));
    },

    async head(key: string): Promise<ObjectInfo | undefined> {
      const meta = await readMeta(layout.objectPath(key));
      if (!meta) return undefined;
      return { size: meta.size, contentType: meta.contentType, etag: meta.etag, lastModified: new Date(meta.lastModified) };
    },

    async readRange(key: string, start: number, end: number): Promise<Uint8Array> {
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
        throw new DropgateError('INVALID_REQUEST', `Cannot read bytes ${start}..${end}.`, { field: 'range' });
      }
      const opened = await openWithMeta(layout.objectPath(key));
      if (!opened) throw new DropgateError('NOT_FOUND', `There is no object at ${key}.`, { reason: 'no-such-key' });
      const { handle, meta } = opened;
      try {
        const length = Math.max(0, Math.min(end, meta.size - 1) - start + 1);
        const buffer = Buffer.alloc(length);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await handle.read(buffer, filled, length - filled, HEADER_BYTES + start + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return new Uint8Array(buffer.buffer, buffer.byteOffset, filled);
      } catch (error) {
        throw storageError(error, 'reading an object');
      } finally {
        await handle.close();
      }
    },

    async delete(key: string): Promise<void> {
      try {
        await unlink(layout.objectPath(key));
      } catch (error) {
        // EISDIR: the key names a folder of other keys, so there is no object to remove.
        if (isErrno(error, 'ENOENT', 'ENOTDIR', 'EISDIR')) return;
        // A read-only filesystem refuses unlink (EROFS) even for a name that is not there; that
        // is still "already gone", or aborting an upload whose PUT failed would answer 503.
        if (!(await readMeta(layout.objectPath(key)).catch(() => true))) return;
        throw storageError(error, 'deleting an object');
      }
    },

    createMultipart(key: string, contentType: string) {
      checkContentType(contentType);
      return multipart.createMultipart(layout, key, contentType, now());
    },
    listParts: (key, multipartId) => multipart.listParts(layout, key, multipartId),
    completeMultipart: (key, multipartId, parts) => multipart.completeMultipart(layout, key, multipartId, parts, now()),
    abortMultipart: (key, multipartId) => multipart.abortMultipart(layout, key, multipartId),

    cleanup: (cleanupOptions) => cleanupDisk(layout, now(), cleanupOptions),
  };
}

// A part longer than the plan's part size would run into the next part's place in the object.
function checkPartSize(partSize: number, size: number): void {
  if (!Number.isSafeInteger(partSize) || partSize < size || partSize > MAX_PART_SIZE) {
    throw new DropgateError(
      'INVALID_REQUEST',
      `partSize must be a whole number of bytes from the part's size (${size}) to ${MAX_PART_SIZE}, got ${partSize}.`,
      { field: 'partSize' },
    );
  }
}

function checkBaseUrl(baseUrl: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(baseUrl);
  } catch {}
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.search || parsed.hash) {
    throw new DropgateError(
      'INVALID_REQUEST',
      `The disk store's baseUrl must be an absolute http(s) URL without a query, got ${JSON.stringify(baseUrl)}.`,
      {
        option: 'baseUrl',
      },
    );
  }
  return baseUrl.replace(/\/+$/, '');
}
