import type { Checksum, Metadata } from '../shared/protocol.js';
import type { PartHasher } from './hash-part.js';
import type { ResumeStore } from './resume.js';

/** What `onProgress` receives, at most every `progressIntervalMs` and once more at the end. */
export interface UploadProgress {
  /** 0..1, never decreasing; 1 only once the server has confirmed the file. */
  progress: number;
  loadedBytes: number;
  totalBytes: number;
  /** Speed over the last few seconds; 0 until there are two samples to compare. */
  bytesPerSecond: number;
  /** Seconds left at the current speed; null while the speed is unknown. */
  etaSeconds: number | null;
}

export type OnUploadProgress = (progress: UploadProgress) => void;

/** A `fetch` compatible function, for runtimes or tests that bring their own. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface UploadOptions {
  /** The API base, e.g. `/api/upload` or `https://app.example/api/upload`. */
  endpoint: string;
  /** The server route (limits, allowed types, visibility); the server's default when omitted. */
  route?: string;
  /** Display name; defaults to `file.name` when the Blob is a File. */
  name?: string;
  /** Defaults to `file.type`, or `application/octet-stream` when the Blob has none. */
  contentType?: string;
  /** Sent on the API calls only (sign, complete, abort), never to the storage. */
  headers?: Record<string, string>;
  metadata?: Metadata;
  /** Signed into the storage URL, so the storage itself refuses other bytes. */
  checksum?: Checksum;
  onProgress?: OnUploadProgress;
  /** Least milliseconds between two progress reports (the last byte and completion always report). Default 50. */
  progressIntervalMs?: number;
  signal?: AbortSignal;
  /** Used for the API calls, and for the storage PUT where there is no XMLHttpRequest. */
  fetch?: FetchLike;
  /** Files larger than this many bytes go up in parts (`multipart: true`). Default 100 MiB. */
  multipartThreshold?: number;
  /**
   * Part PUTs in flight at once. Default 4. Every upload of one `createClient` shares the client's
   * limit; a per-upload value counts only for the standalone `upload()`.
   */
  concurrency?: number;
  /** Milliseconds before each retry of a part or an API call (±20% jitter). Default `[0, 1000, 3000, 5000]`. */
  retryDelays?: readonly number[];
  /**
   * The base64 MD5 of a part, signed into its URL as Content-MD5 so the storage refuses a part that
   * changed on the way. Default: node:crypto in Node; in browsers the pure-JS MD5 in Web Workers
   * (`createWorkerHasher`), on the main thread where workers cannot run; `false` sends none.
   */
  hashPart?: PartHasher | false;
  /**
   * Where a multipart upload's state is kept so a later run can send only the missing parts.
   * Default: IndexedDB in browsers (`createIndexedDbResumeStore`: survives a reload or a browser
   * restart), none in Node; `false` keeps no state.
   */
  resumeStore?: ResumeStore | false | undefined;
  /**
   * The file's identity in `resumeStore`. Default: name, size and lastModified of a File (a plain
   * Blob has no identity, so it resumes only with this set), with the endpoint and route.
   */
  fingerprint?: string;
  /** A part attempt that makes no progress for this long is abandoned and retried. Default 30 s. */
  stallTimeoutMs?: number;
}

/** What a storage PUT answered. */
export interface PutResult {
  /** The `ETag` header, when the storage sent one and CORS lets the page read it. */
  etag: string | undefined;
}

/** One storage PUT, as both transports (`xhr-put`, `fetch-put`) take it. */
export interface PutRequest {
  url: string;
  /** Exactly the headers the sign answer gave: they are part of the signature. */
  headers: Record<string, string>;
  body: Blob;
  signal?: AbortSignal | undefined;
  /** Bytes handed to the network so far. */
  onProgress?: ((loadedBytes: number) => void) | undefined;
}
