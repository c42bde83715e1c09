/**
 * What the server needs from a place that keeps bytes. Each adapter (disk, s3) implements all of
 * it; there are no silent defaults. Presigning is synchronous: it is local computation, no I/O.
 */
import type { GatewayRequest, GatewayResponse } from '../shared/http.js';
import type { Checksum } from '../shared/protocol.js';

/** A request the client will send straight to the store. */
export interface PresignedRequest {
  url: string;
  method: 'PUT' | 'GET';
  /** Headers the client must send exactly as given (they are part of the signature). */
  headers: Record<string, string>;
  expiresAt: Date;
}

export interface PutTarget {
  key: string;
  /** Exact byte length the store must receive. */
  size: number;
  contentType: string;
  checksum?: Checksum;
  /** Seconds the URL works. */
  expiresIn: number;
  /** Ask the store to refuse the write if the key already holds an object, where it can. */
  ifNoneMatch?: boolean;
}

export interface PartTarget {
  key: string;
  multipartId: string;
  partNumber: number;
  /** Exact byte length of this part. */
  size: number;
  /** Base64 MD5 of the part, signed in as Content-MD5 when given. */
  md5?: string;
  /**
   * The upload's part size under its plan (every part but the last is this long, so part n starts
   * at byte (n-1)·partSize of the object). The disk store signs it into the URL and writes the
   * part straight into its place in the object; S3 has no use for it and ignores it.
   */
  partSize?: number;
  expiresIn: number;
}

export interface GetOptions {
  expiresIn: number;
  /** Display name, served with an RFC 6266 `Content-Disposition`. */
  fileName?: string;
}

export interface ObjectInfo {
  size: number;
  contentType: string;
  etag: string;
  lastModified: Date;
  /**
   * Headers stored with the object that a read would send back and that dropgate never signs
   * (Content-Disposition, Content-Encoding, Cache-Control, x-amz-meta-*, …): S3 keeps whatever
   * unsigned standard headers a PUT carried. Absent or empty when there are none.
   */
  extraHeaders?: Record<string, string>;
}

export interface StoredPart {
  partNumber: number;
  size: number;
  etag: string;
}

export interface StorageCapabilities {
  /** The store honours `If-None-Match: *` on a presigned PUT. */
  conditionalWrite: boolean;
  /** Largest object one PUT may carry. */
  maxSinglePutBytes: number;
}

export interface Storage {
  /** Short name for logs and `doctor`: "disk", "s3". */
  readonly kind: string;
  readonly capabilities: StorageCapabilities;

  presignPut(target: PutTarget): PresignedRequest;
  presignGet(key: string, options: GetOptions): PresignedRequest;
  /** Permanent URL of an object under a public base, or undefined when the store has none. */
  publicUrl(key: string): string | undefined;

  /** Object info, or undefined when no object is at `key`. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /**
   * Grants on the object beyond its owner's, as "PERMISSION to grantee". S3 applies an unsigned
   * `x-amz-acl` or `x-amz-grant-*` that a presigned PUT carried, so complete must ask. Stores
   * without per-object ACLs leave this out.
   */
  foreignGrants?(key: string): Promise<string[]>;
  /** Bytes `start..end` inclusive (fewer if the object is shorter). */
  readRange(key: string, start: number, end: number): Promise<Uint8Array>;
  /** Removes the object; no error when it is already gone. */
  delete(key: string): Promise<void>;

  createMultipart(key: string, contentType: string): Promise<{ multipartId: string }>;
  presignPart(target: PartTarget): PresignedRequest;
  listParts(key: string, multipartId: string): Promise<StoredPart[]>;
  /** Assembles the parts into the object; throws UPLOAD_INTEGRITY_FAILED when the store refuses. */
  completeMultipart(key: string, multipartId: string, parts: { partNumber: number; etag: string }[]): Promise<{ etag: string }>;
  /** Drops an unfinished multipart upload and its parts; no error when it is already gone. */
  abortMultipart(key: string, multipartId: string): Promise<void>;
}

/**
 * Stores whose presigned URLs point back at the gateway (the disk store) receive and serve the
 * bytes themselves. The gateway routes `{base}/_disk/{token}` here.
 */
export interface StorageReceiver {
  handle(request: GatewayRequest, token: string): Promise<GatewayResponse>;
}

/** A Storage that may also have a receiver; the gateway mounts it when present. */
export interface ReceivingStorage extends Storage {
  readonly receiver: StorageReceiver;
}

export function hasReceiver(storage: Storage): storage is ReceivingStorage {
  return 'receiver' in storage && storage.receiver !== undefined;
}
