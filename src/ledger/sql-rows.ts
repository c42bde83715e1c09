/**
 * Rows of the `uploads` table as records, and the opaque cursor of file listings. Kept apart from
 * the queries so that both drivers' value types (BIGINT as number or string) are handled once.
 */
import { DropgateError } from '../shared/errors.js';
import type { Checksum, Metadata, UploadStatus } from '../shared/protocol.js';
import { toDate, toNumber } from './sql.js';
import type { ReserveInput, UploadRecord } from './types.js';

const COLUMNS = [
  'id',
  'user_id',
  'route',
  'key',
  'size',
  'content_type',
  'name',
  'checksum',
  'metadata',
  'visibility',
  'status',
  'period',
  'multipart_id',
  'part_size',
  'part_count',
  'etag',
  'created_at',
  'expires_at',
  'completed_at',
] as const;

/**
 * Every column a record is read from, optionally qualified by a table alias (for joins).
 * @example `RETURNING ${uploadColumns('u')}`
 */
export function uploadColumns(alias?: string): string {
  return alias ? COLUMNS.map((c) => `${alias}.${c}`).join(', ') : COLUMNS.join(', ');
}

export const UPLOAD_COLUMNS = uploadColumns();

export interface UploadRow {
  id: string;
  user_id: string;
  route: string;
  key: string;
  size: unknown;
  content_type: string;
  name: string | null;
  checksum: Checksum | null;
  metadata: Metadata | null;
  visibility: 'public' | 'private';
  status: UploadStatus;
  period: string;
  multipart_id: string | null;
  part_size: unknown;
  part_count: unknown;
  etag: string | null;
  created_at: unknown;
  expires_at: unknown;
  completed_at: unknown;
}

const nullable = <T>(value: unknown, convert: (v: unknown) => T): T | null =>
  value === null || value === undefined ? null : convert(value);

export function toRecord(row: UploadRow): UploadRecord {
  return {
    id: row.id,
    userId: row.user_id,
    route: row.route,
    key: row.key,
    size: toNumber(row.size),
    contentType: row.content_type,
    name: row.name,
    checksum: row.checksum,
    metadata: row.metadata,
    visibility: row.visibility,
    status: row.status,
    period: row.period,
    multipartId: row.multipart_id,
    partSize: nullable(row.part_size, toNumber),
    partCount: nullable(row.part_count, toNumber),
    etag: row.etag,
    createdAt: toDate(row.created_at),
    expiresAt: toDate(row.expires_at),
    completedAt: nullable(row.completed_at, toDate),
  };
}

/**
 * Calls migration 3's `dropgate_reserve`: the whole reservation in one statement. Parameters from
 * `reserveParams`; the casts pick the function's signature whatever types a driver sends.
 */
export const RESERVE = `
  SELECT r_outcome, r_amount, r_created_at FROM dropgate_reserve($1, $2, $3, $4, $5::bigint, $6, $7, $8::jsonb, $9::jsonb, $10, $11,
    $12, $13::bigint, $14::integer, $15::timestamptz, $16::bigint, $17::bigint)`;

const RESERVE_TYPES = [
  'text',
  'text',
  'text',
  'text',
  'bigint',
  'text',
  'text',
  'jsonb',
  'jsonb',
  'text',
  'text',
  'text',
  'bigint',
  'integer',
  'timestamptz',
  'bigint',
  'bigint',
] as const;

/**
 * `count` reservations in one statement: `dropgate_reserve` once per row of a VALUES list, in the
 * list's order, each row's results tagged with its position `i` (0-based).
 */
export function reserveBatchSql(count: number): string {
  const n = RESERVE_TYPES.length;
  const rows = Array.from(
    { length: count },
    (_, r) => `(${r}, ${RESERVE_TYPES.map((type, c) => `$${r * n + c + 1}::${type}`).join(', ')})`,
  );
  const columns = RESERVE_TYPES.map((_, c) => `c${c}`).join(', ');
  return `SELECT v.i, r.r_outcome, r.r_amount, r.r_created_at FROM (VALUES ${rows.join(', ')}) AS v(i, ${columns})
    CROSS JOIN LATERAL dropgate_reserve(${columns}) AS r ORDER BY v.i`;
}

export interface ReserveRow {
  r_outcome: 'ok' | 'pending' | 'quota';
  r_amount: unknown;
  r_created_at: unknown;
}

export function reserveParams(input: ReserveInput): unknown[] {
  return [
    input.id,
    input.userId,
    input.route,
    input.key,
    input.size,
    input.contentType,
    input.name,
    // Sent as JSON text and cast in SQL: drivers disagree on how they serialise objects.
    input.checksum === null ? null : JSON.stringify(input.checksum),
    input.metadata === null ? null : JSON.stringify(input.metadata),
    input.visibility,
    input.period,
    input.multipartId,
    input.partSize,
    input.partCount,
    input.expiresAt,
    input.allowanceBytes,
    input.pendingCap,
  ];
}

/**
 * The position after a listed file: base64url of `[createdAt ISO, id]`. Opaque to clients, so the
 * ordering can change without breaking their URLs beyond one page.
 * @example encodeCursor(file) // 'WyIyMDI2LTExLTI0VDEwOjAwOjAwLjAwMFoiLCJhYmMiXQ'
 */
export function encodeCursor(file: Pick<UploadRecord, 'createdAt' | 'id'>): string {
  return Buffer.from(JSON.stringify([file.createdAt.toISOString(), file.id])).toString('base64url');
}

/** Reads a cursor made by `encodeCursor`; anything else is the client's mistake (400). */
export function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
      const createdAt = new Date(value[0]);
      if (!Number.isNaN(createdAt.getTime())) return { createdAt, id: value[1] };
    }
  } catch {
    // Not base64url JSON: refused below like any other malformed cursor.
  }
  throw new DropgateError('INVALID_REQUEST', 'The cursor is not one this server handed out.', { field: 'cursor' });
}
