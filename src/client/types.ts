import type { Checksum, Metadata } from '../shared/protocol.js';

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
