/**
 * `dropgate/client`: uploads from browsers and Node straight to the storage, through a dropgate
 * API that signs, reserves and verifies. Imports only `src/shared`, so it bundles for the browser.
 */
import type { FileRecord } from '../shared/protocol.js';
import { createQueue } from './queue.js';
import type { UploadOptions } from './types.js';
import { upload } from './upload.js';
import { createUploader, DEFAULT_CONCURRENCY, type Uploader } from './uploader.js';

export type { ErrorCode } from '../shared/errors.js';
export { DropgateError, isDropgateError } from '../shared/errors.js';
export type { Checksum, FileRecord, Metadata } from '../shared/protocol.js';
export { formatBytes } from '../shared/sizes.js';
export { jsMd5Base64, md5Base64, type PartHasher } from './hash-part.js';
export { createLaneHasher } from './md5-lanes.js';
export { createWorkerHasher, type WorkerHasher, type WorkerHasherOptions } from './md5-worker.js';
export { openFile } from './node-file.js';
export { createMemoryResumeStore, fingerprintOf, type ResumeState, type ResumeStore } from './resume.js';
export { createFileResumeStore } from './resume-file.js';
export { createIndexedDbResumeStore, type IndexedDbResumeStoreOptions } from './resume-idb.js';
export { DEFAULT_RETRY_DELAYS } from './retry.js';
export type { FetchLike, OnUploadProgress, UploadOptions, UploadProgress } from './types.js';
export { createUploader, DEFAULT_CONCURRENCY, DEFAULT_MULTIPART_THRESHOLD, type Uploader, type UploadState } from './uploader.js';
export { upload };

export interface DropgateClient {
  /** Uploads and resolves to the verified file (`createUpload(file, options).start().done`). */
  upload(file: Blob, options?: Partial<UploadOptions>): Promise<FileRecord>;
  /** An upload that is not started yet, with pause, resume and abort. */
  createUpload(file: Blob, options?: Partial<UploadOptions>): Uploader;
}

/**
 * A client with shared defaults (endpoint, auth headers, route, resume store); per-call options
 * override them, and `headers` are merged. All uploads of one client share one concurrency limit
 * (`concurrency`, default 4 parts in flight), so many files at once never flood the link.
 *
 * @example
 * const client = createClient({ endpoint: '/api/upload', headers: { authorization: `Bearer ${token}` } });
 * const file = await client.upload(input.files[0], { onProgress: (p) => console.log(p.progress) });
 *
 * @example
 * const u = client.createUpload(bigFile).start();
 * pause.onclick = () => u.pause();
 * resume.onclick = () => u.resume();
 * cancel.onclick = () => u.abort();
 * const record = await u.done;
 */
export function createClient(defaults: UploadOptions): DropgateClient {
  const queue = createQueue(defaults.concurrency ?? DEFAULT_CONCURRENCY);
  const merged = (options: Partial<UploadOptions>): UploadOptions => {
    const headers = { ...defaults.headers, ...options.headers };
    return { ...defaults, ...options, headers } as UploadOptions;
  };
  return {
    upload: (file, options = {}) => createUploader(file, merged(options), queue).start().done,
    createUpload: (file, options = {}) => createUploader(file, merged(options), queue),
  };
}
