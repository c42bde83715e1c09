/**
 * Where the disk store keeps things, and the only place a key becomes a path. Keys are checked
 * against a narrow alphabet first and the resolved path is checked again, so no key (and no token
 * minted for one) can reach outside `{directory}/objects`.
 *
 * ```
 * {directory}/objects/{key}              the objects (header + bytes, see disk-file.ts)
 * {directory}/.tmp/                      uploads being received and files being assembled
 * {directory}/.multipart/{id}/upload.json  key and type of an unfinished multipart upload
 * {directory}/.multipart/{id}/{n}        its part n: a file of its own, or a record of where in
 *                                        `data` the part was written (see disk-in-place.ts)
 * {directory}/.multipart/{id}/data       the object taking shape: parts written at their offsets
 * {directory}/.multipart/{id}/plan       the part size the offsets in `data` follow
 * {directory}/.multipart/{id}/{n}.claim  part n's place in `data` is taken ({n}.done: and settled)
 * {directory}/.multipart/{id}/completing a complete is assembling `data` in place
 * {directory}/.tokens/{exp}-{nonce}      one marker per upload token that carried a success
 * ```
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { DropgateError } from '../shared/errors.js';

const MAX_KEY_BYTES = 1024;
// Most filesystems cap one name at 255 bytes; a longer segment would fail later with ENAMETOOLONG.
const MAX_SEGMENT_BYTES = 255;
const KEY_SHAPE = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;
const MULTIPART_ID_SHAPE = /^[A-Za-z0-9_-]{16,64}$/;

/** Refuses keys that could name anything but a plain file under the objects folder. */
export function assertValidKey(key: string): void {
  const problem =
    typeof key !== 'string' || key.length === 0
      ? 'is empty'
      : key.length > MAX_KEY_BYTES
        ? `is longer than ${MAX_KEY_BYTES} bytes`
        : !KEY_SHAPE.test(key)
          ? 'may only use A-Z a-z 0-9 . _ - and single slashes between segments'
          : key.includes('..') || key.split('/').some((s) => s === '.')
            ? 'contains a "." or ".." segment'
            : key.split('/').some((s) => s.length > MAX_SEGMENT_BYTES)
              ? `has a segment longer than ${MAX_SEGMENT_BYTES} bytes`
              : undefined;
  if (problem) throw new DropgateError('INVALID_REQUEST', `The storage key ${JSON.stringify(key)} ${problem}.`, { field: 'key' });
}

/** Multipart ids come back from callers; only ids shaped like ours may become a folder name. */
export function assertValidMultipartId(multipartId: string): void {
  if (typeof multipartId !== 'string' || !MULTIPART_ID_SHAPE.test(multipartId)) {
    throw new DropgateError('INVALID_REQUEST', 'The multipart upload id is malformed.', { field: 'multipartId' });
  }
}

export function assertValidPartNumber(partNumber: number): void {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
    throw new DropgateError('INVALID_REQUEST', `Part numbers run from 1 to 10000, got ${partNumber}.`, { field: 'partNumber' });
  }
}

export type UploadFileName = 'data' | 'plan' | 'completing' | `${number}.claim` | `${number}.done`;

export interface DiskLayout {
  readonly root: string;
  readonly objects: string;
  readonly tmp: string;
  readonly multipart: string;
  readonly tokens: string;
  objectPath(key: string): string;
  multipartDir(multipartId: string): string;
  uploadRecordPath(multipartId: string): string;
  partPath(multipartId: string, partNumber: number): string;
  /** A bookkeeping file of one upload: `data`, `plan`, `completing`, `{n}.claim`, `{n}.done`. */
  uploadFile(multipartId: string, name: UploadFileName): string;
  markerPath(exp: number, nonce: string): string;
  /** A fresh name in `.tmp`: same filesystem as the objects, so publishing is a rename. */
  tempPath(label: string): string;
  /** Creates the folders once; a failure is retried on the next call. */
  ready(): Promise<void>;
}

export function createLayout(directory: string): DiskLayout {
  const root = path.resolve(directory);
  const objects = path.join(root, 'objects');
  const tmp = path.join(root, '.tmp');
  const multipart = path.join(root, '.multipart');
  const tokens = path.join(root, '.tokens');
  let readying: Promise<void> | undefined;

  const inside = (base: string, target: string) => {
    // Belt and braces: the key check above should make this unreachable.
    if (!target.startsWith(base + path.sep)) {
      throw new DropgateError('INVALID_REQUEST', 'The storage key resolves outside the storage folder.', { field: 'key' });
    }
    return target;
  };

  return {
    root,
    objects,
    tmp,
    multipart,
    tokens,
    objectPath(key) {
      assertValidKey(key);
      return inside(objects, path.resolve(objects, ...key.split('/')));
    },
    multipartDir(multipartId) {
      assertValidMultipartId(multipartId);
      return inside(multipart, path.join(multipart, multipartId));
    },
    uploadRecordPath(multipartId) {
      return path.join(this.multipartDir(multipartId), 'upload.json');
    },
    partPath(multipartId, partNumber) {
      assertValidPartNumber(partNumber);
      return path.join(this.multipartDir(multipartId), String(partNumber));
    },
    uploadFile(multipartId, name) {
      return path.join(this.multipartDir(multipartId), name);
    },
    markerPath(exp, nonce) {
      if (!Number.isSafeInteger(exp) || !/^[A-Za-z0-9_-]{16,64}$/.test(nonce)) {
        throw new DropgateError('FORBIDDEN', 'The URL signature is not valid.', { reason: 'bad-signature' });
      }
      return path.join(tokens, `${exp}-${nonce}`);
    },
    tempPath(label) {
      return path.join(tmp, `${label}-${randomBytes(12).toString('base64url')}`);
    },
    ready() {
      readying ??= Promise.all([objects, tmp, multipart, tokens].map((dir) => mkdir(dir, { recursive: true }))).then(
        () => undefined,
        (error: unknown) => {
          readying = undefined;
          throw error;
        },
      );
      return readying;
    },
  };
}
