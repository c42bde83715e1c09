import type { FileRecord } from '../shared/protocol.js';
import type { UploadOptions } from './types.js';
import { createUploader } from './uploader.js';

/**
 * Uploads a Blob or File straight to the storage: the API signs and reserves the allowance, the
 * bytes go to the storage (in parallel parts above `multipartThreshold`, 100 MiB by default), and
 * the API checks what landed before the file exists. The simple form of `createUploader`.
 *
 * Rejects with a DropgateError whose `code` is the server's (FILE_TOO_LARGE, QUOTA_EXCEEDED, …),
 * the storage's translated, NETWORK_ERROR once retries are spent, or UPLOAD_ABORTED when `signal`
 * fires before all bytes are sent (the reservation is then released). Once they are, the file is
 * completed and returned.
 *
 * @example
 * const file = await upload(input.files[0], {
 *   endpoint: '/api/upload',
 *   onProgress: ({ progress }) => (bar.value = progress),
 * });
 * console.log(file.url);
 *
 * @example
 * // Node: a file-backed Blob is streamed, never read into memory.
 * const blob = await fs.openAsBlob('clip.mp4', { type: 'video/mp4' });
 * await upload(blob, { endpoint: 'http://localhost:3000/api/upload', name: 'clip.mp4' });
 */
export function upload(file: Blob, options: UploadOptions): Promise<FileRecord> {
  return createUploader(file, options).start().done;
}
