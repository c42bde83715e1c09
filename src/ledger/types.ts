/**
 * The ledger keeps uploads, files and allowances. One implementation runs the same SQL on PGlite
 * (embedded) and PostgreSQL; the server only sees this interface.
 */
import type { Checksum, Metadata, UploadStatus } from '../shared/protocol.js';

export type AllowancePeriod = 'day' | 'month' | 'total';

export interface UploadRecord {
  id: string;
  userId: string;
  route: string;
  key: string;
  /** Bytes reserved and signed for. */
  size: number;
  contentType: string;
  name: string | null;
  checksum: Checksum | null;
  metadata: Metadata | null;
  visibility: 'public' | 'private';
  status: UploadStatus;
  /** Allowance bucket the reservation was taken from: "2026-11-24", "2026-11" or "total". */
  period: string;
  multipartId: string | null;
  partSize: number | null;
  partCount: number | null;
  /** ETag the storage reported at completion; lets a later overwrite be detected. */
  etag: string | null;
  createdAt: Date;
  /** Upload lifetime: past this, the sweeper reconciles a pending upload. */
  expiresAt: Date;
  completedAt: Date | null;
}

/** A new pending upload: the record's own fields, plus the limits the reservation is checked against. */
export type ReserveInput = Omit<UploadRecord, 'status' | 'etag' | 'createdAt' | 'completedAt'> & {
  /** The allowance of this user, route and period in bytes. */
  allowanceBytes: number;
  /** Most pending uploads this user may hold on this route. */
  pendingCap: number;
};

export type ReserveResult =
  | { ok: true; upload: UploadRecord }
  | { ok: false; reason: 'quota'; remainingBytes: number }
  | { ok: false; reason: 'pending'; pending: number };

export interface Usage {
  usedBytes: number;
  reservedBytes: number;
}

export interface FilePage {
  files: UploadRecord[];
  nextCursor: string | null;
}

/** The MD5 a part's URL was signed with (base64, as sent in `Content-MD5`). */
export interface PartChecksum {
  partNumber: number;
  md5: string;
}

export interface Ledger {
  /** Applies pending migrations; safe to call on every start. */
  migrate(): Promise<void>;
  /**
   * Atomically: pending count under cap, `used + reserved + size ≤ allowance`, then records the
   * upload as pending. Either all of it happens or none.
   */
  reserve(input: ReserveInput): Promise<ReserveResult>;
  getUpload(id: string): Promise<UploadRecord | undefined>;
  /**
   * pending → completed, reservation settled to `actualSize`. Only the first call for an upload
   * changes anything; it returns `changed: false` and the record as it is for the others.
   */
  complete(id: string, result: { size: number; etag: string }): Promise<{ changed: boolean; upload: UploadRecord }>;
  /** pending → `status`, reservation released. Returns false if the upload was not pending. */
  release(id: string, status: 'aborted' | 'expired' | 'failed'): Promise<boolean>;
  /** completed → deleted, the file's bytes refunded to its period. Returns the record, or undefined. */
  deleteFile(id: string, userId: string): Promise<UploadRecord | undefined>;
  /** Completed files of a user and route set, newest first. */
  listFiles(userId: string, options: { cursor?: string; limit: number }): Promise<FilePage>;
  usage(userId: string, route: string, period: string): Promise<Usage>;
  pendingCount(userId: string, route: string): Promise<number>;
  /**
   * Pending uploads past their lifetime, claimed for this caller so that concurrent sweepers
   * (other instances) never handle the same upload twice. Claims last `leaseSeconds`.
   */
  claimExpired(now: Date, limit: number, leaseSeconds: number): Promise<UploadRecord[]>;
  /** One round trip to the database, for health checks; throws LEDGER_UNAVAILABLE when it cannot be reached. */
  ping(): Promise<void>;
  /**
   * Remembers the base64 MD5 each part URL was signed with, so complete can hold the parts the
   * storage reports to it. A part signed again replaces its MD5: the latest signature is the one
   * the client is uploading under.
   */
  recordPartChecksums(uploadId: string, parts: readonly PartChecksum[]): Promise<void>;
  /**
   * Part URLs were signed: remembers their MD5s as `recordPartChecksums` does and pushes the
   * lifetime of a pending upload forward to `expiresAt` (never back), in one round trip.
   * With no checksums it only extends.
   * @example await ledger.partsSigned(upload.id, [{ partNumber: 1, md5 }], new Date(Date.now() + 86_400_000));
   */
  partsSigned(uploadId: string, checksums: readonly PartChecksum[], expiresAt: Date): Promise<void>;
  /** The MD5s recorded for an upload's parts, by ascending part number. */
  partChecksums(uploadId: string): Promise<PartChecksum[]>;
  close(): Promise<void>;
}
