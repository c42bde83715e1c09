/**
 * `dropgate/client`: uploads from browsers and Node straight to the storage, through a dropgate
 * API that signs, reserves and verifies. Imports only `src/shared`, so it bundles for the browser.
 */
import type { FileRecord } from '../shared/protocol.js';
import type { UploadOptions } from './types.js';
import { upload } from './upload.js';

export type { ErrorCode } from '../shared/errors.js';
export { DropgateError, isDropgateError } from '../shared/errors.js';
export type { Checksum, FileRecord, Metadata } from '../shared/protocol.js';
export { formatBytes } from '../shared/sizes.js';
export type { FetchLike, OnUploadProgress, UploadOptions, UploadProgress } from './types.js';
export { upload };

export interface DropgateClient {
  upload(file: Blob, options?: Partial<UploadOptions>): Promise<FileRecord>;
}

/**
 * A client with shared defaults (endpoint, auth headers, route); per-call options override them,
 * and `headers` are merged.
 *
 * @example
 * const client = createClient({ endpoint: '/api/upload', headers: { authorization: `Bearer ${token}` } });
 * const file = await client.upload(input.files[0], { onProgress: (p) => console.log(p.progress) });
 */
export function createClient(defaults: UploadOptions): DropgateClient {
  return {
    upload(file, options = {}) {
      const headers = { ...defaults.headers, ...options.headers };
      return upload(file, { ...defaults, ...options, headers } as UploadOptions);
    },
  };
}
