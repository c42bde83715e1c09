/**
 * The wire protocol, defined once. Server and client import these schemas and types; the server
 * validates every request body with them, the client every answer.
 */
import * as v from 'valibot';
import { DropgateError } from './errors.js';

/** Body fields that would let a client choose where its bytes land; the server picks every key. */
export const FORBIDDEN_SIGN_FIELDS = ['key', 'path', 'prefix', 'bucket', 'filename', 'location'] as const;

export const MAX_METADATA_BYTES = 2048;
/** Largest JSON body the API reads; a sign request with 2 KB of metadata fits with room to spare. */
export const MAX_JSON_BODY_BYTES = 64 * 1024;
/** Most part URLs one `parts` call signs; clients ask in small batches, just before use. */
export const MAX_PARTS_PER_REQUEST = 100;

const base64 = (bytes: number) =>
  v.pipe(
    v.string(),
    v.regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64'),
    v.check((s) => Math.floor((s.length * 3) / 4) - (s.match(/=/g)?.length ?? 0) === bytes, `must encode ${bytes} bytes`),
  );

export const ChecksumSchema = v.variant('algorithm', [
  v.strictObject({ algorithm: v.literal('md5'), value: base64(16) }),
  v.strictObject({ algorithm: v.literal('sha256'), value: base64(32) }),
]);
export type Checksum = v.InferOutput<typeof ChecksumSchema>;

const MetadataSchema = v.pipe(
  // valibot's record takes an array as an object with keys "0", "1", …; metadata is a flat object.
  v.custom<Record<string, unknown>>((m) => typeof m === 'object' && m !== null && !Array.isArray(m), 'metadata must be a JSON object'),
  v.record(v.pipe(v.string(), v.maxLength(128)), v.nullable(v.union([v.string(), v.number(), v.boolean()]))),
  v.check(
    (m) => new TextEncoder().encode(JSON.stringify(m)).length <= MAX_METADATA_BYTES,
    `metadata must be at most ${MAX_METADATA_BYTES} bytes as JSON`,
  ),
);
export type Metadata = v.InferOutput<typeof MetadataSchema>;

const PartNumber = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000));

/** Parts a client asks URLs for, each with the MD5 to bind into its URL when it has one. */
const PartsWantedSchema = v.pipe(
  v.array(v.strictObject({ partNumber: PartNumber, md5: v.optional(base64(16)) })),
  v.minLength(1),
  v.maxLength(MAX_PARTS_PER_REQUEST),
  v.check((parts) => new Set(parts.map((p) => p.partNumber)).size === parts.length, 'each part may be asked for once'),
);

export const SignRequestSchema = v.strictObject({
  size: v.pipe(v.number(), v.safeInteger('size must be a whole number of bytes')),
  contentType: v.pipe(v.string(), v.maxLength(255)),
  name: v.optional(v.string()),
  route: v.optional(v.pipe(v.string(), v.maxLength(64))),
  checksum: v.optional(ChecksumSchema),
  metadata: v.optional(MetadataSchema),
  multipart: v.optional(v.boolean()),
  /**
   * Sign `If-None-Match: *` into the PUT where the store honours it, so the URL cannot overwrite an
   * object. dropgate's client asks for it; the seed's client, which sends only content-type, does not.
   */
  ifNoneMatch: v.optional(v.boolean()),
  /**
   * With `multipart: true`: the first parts' URLs in the sign answer, saving the first parts call.
   * dropgate's client hashes its first batch of parts (under `partSizeFor(size)`) before it signs.
   */
  parts: v.optional(PartsWantedSchema),
});
export type SignRequest = v.InferOutput<typeof SignRequestSchema>;

const Iso = v.pipe(v.string(), v.isoTimestamp());
const Headers = v.record(v.string(), v.string());
const SignedPartsSchema = v.array(v.object({ partNumber: v.number(), url: v.string(), headers: Headers, expiresAt: Iso }));

export const MultipartPlanSchema = v.object({ partSize: v.number(), partCount: v.number() });
export type MultipartPlan = v.InferOutput<typeof MultipartPlanSchema>;

export const SignResponseSchema = v.object({
  uploadId: v.string(),
  key: v.string(),
  readUrl: v.string(),
  method: v.literal('PUT'),
  headers: Headers,
  expiresAt: Iso,
  uploadExpiresAt: Iso,
  presignedUrl: v.optional(v.string()),
  multipart: v.optional(MultipartPlanSchema),
  /** URLs for the parts the sign request asked for (multipart only). */
  parts: v.optional(SignedPartsSchema),
});
export type SignResponse = v.InferOutput<typeof SignResponseSchema>;

export const PartsRequestSchema = v.strictObject({ parts: PartsWantedSchema });
export type PartsRequest = v.InferOutput<typeof PartsRequestSchema>;

export const PartsResponseSchema = v.object({ parts: SignedPartsSchema });
export type PartsResponse = v.InferOutput<typeof PartsResponseSchema>;

export const CompleteRequestSchema = v.strictObject({
  parts: v.optional(
    v.pipe(v.array(v.strictObject({ partNumber: PartNumber, etag: v.pipe(v.string(), v.maxLength(128)) })), v.maxLength(10_000)),
  ),
});
export type CompleteRequest = v.InferOutput<typeof CompleteRequestSchema>;

export const FileRecordSchema = v.object({
  id: v.string(),
  key: v.string(),
  size: v.number(),
  contentType: v.string(),
  url: v.string(),
  name: v.optional(v.string()),
  createdAt: v.optional(Iso),
  metadata: v.optional(v.record(v.string(), v.unknown())),
});
export type FileRecord = v.InferOutput<typeof FileRecordSchema>;

export const CompleteResponseSchema = v.object({ file: FileRecordSchema });
export type CompleteResponse = v.InferOutput<typeof CompleteResponseSchema>;

export const UPLOAD_STATUSES = ['pending', 'completed', 'aborted', 'expired', 'failed'] as const;
export type UploadStatus = (typeof UPLOAD_STATUSES)[number];

export const StatusResponseSchema = v.object({
  uploadId: v.string(),
  status: v.picklist(UPLOAD_STATUSES),
  key: v.string(),
  size: v.number(),
  contentType: v.string(),
  expiresAt: Iso,
  multipart: v.optional(MultipartPlanSchema),
  parts: v.optional(v.array(v.object({ partNumber: v.number(), size: v.number(), etag: v.string() }))),
  file: v.optional(FileRecordSchema),
});
export type StatusResponse = v.InferOutput<typeof StatusResponseSchema>;

export const AllowanceSchema = v.object({
  limitBytes: v.number(),
  usedBytes: v.number(),
  reservedBytes: v.number(),
  remainingBytes: v.number(),
  period: v.picklist(['day', 'month', 'total']),
  resetsAt: v.nullable(Iso),
});
export type Allowance = v.InferOutput<typeof AllowanceSchema>;

export const FileListResponseSchema = v.object({
  files: v.array(FileRecordSchema),
  nextCursor: v.nullable(v.string()),
  allowance: AllowanceSchema,
});
export type FileListResponse = v.InferOutput<typeof FileListResponseSchema>;

/**
 * Validates `value` against a protocol schema, throwing INVALID_REQUEST with the first problem's
 * field and message.
 * @example const req = parseWith(SignRequestSchema, body);
 */
export function parseWith<S extends v.GenericSchema>(schema: S, value: unknown, what = 'request body'): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const field = issue.path?.map((p) => String(p.key)).join('.') || undefined;
  const message = issue.kind === 'schema' && issue.type === 'strict_object' ? `unknown field "${field}"` : issue.message;
  throw new DropgateError('INVALID_REQUEST', `Invalid ${what}${field ? ` at ${field}` : ''}: ${message}`, field ? { field } : {});
}

/** Refuses sign requests that try to choose their own key, with a message that says why. */
export function assertNoClientKey(body: unknown): void {
  if (!body || typeof body !== 'object') return;
  for (const field of FORBIDDEN_SIGN_FIELDS) {
    if (Object.hasOwn(body, field)) {
      throw new DropgateError('INVALID_REQUEST', `"${field}" is not accepted: the server chooses where files are stored.`, { field });
    }
  }
}
