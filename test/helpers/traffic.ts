/**
 * HTTP calls against gateway instances, as a client behind a load balancer makes them: each call
 * prefers one instance and, when that one cannot be reached at all, goes to the next, like a
 * balancer whose health check took a dead instance out. HTTP errors are answers, never retried.
 *
 * @example
 * const api = apiClient([a, b], 'key-of-alice');
 * const upload = await uploadThrough(api, 0, fileOf('video/mp4', 1000));
 */
import { createHash } from 'node:crypto';

/** Where an instance answers; only `url` is used, so an `Instance` fits. */
export interface Target {
  url: string;
}

export interface Answer {
  status: number;
  json: Record<string, unknown>;
  headers: Headers;
  /** Which instance answered (index into the targets). */
  by: number;
}

export interface ApiClient {
  /** `path` is relative to the origin (`/api/upload/…`) or absolute (a presigned URL, whose origin is replaced). */
  call(
    prefer: number,
    method: string,
    path: string,
    init?: { json?: unknown; body?: Uint8Array; headers?: Record<string, string> },
  ): Promise<Answer>;
  /** Calls that reached no instance at all, per preferred instance. */
  unreachable: number[];
}

const TIMEOUT_MS = 10_000;

export function apiClient(targets: readonly Target[], apiKey: string): ApiClient {
  const unreachable = targets.map(() => 0);
  return {
    unreachable,
    async call(prefer, method, path, init = {}) {
      const url = new URL(path, 'http://placeholder');
      const headers: Record<string, string> = { authorization: `Bearer ${apiKey}`, ...init.headers };
      // The files under test are plain ArrayBuffer-backed arrays; TypeScript cannot tell.
      let body: string | Uint8Array<ArrayBuffer> | undefined = init.body as Uint8Array<ArrayBuffer> | undefined;
      if (init.json !== undefined) {
        body = JSON.stringify(init.json);
        headers['content-type'] = 'application/json';
      }
      // fetch sets content-length from the body; a signed copy of it would be sent twice.
      delete headers['content-length'];
      let lastError: unknown;
      for (let i = 0; i < targets.length; i++) {
        const by = (prefer + i) % targets.length;
        try {
          const response = await fetch(new URL(url.pathname + url.search, targets[by]!.url), {
            method,
            headers,
            ...(body === undefined ? {} : { body }),
            redirect: 'manual',
            signal: AbortSignal.timeout(TIMEOUT_MS),
          });
          const text = await response.text();
          const json = text && response.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as Record<string, unknown>) : {};
          return { status: response.status, json, headers: response.headers, by };
        } catch (error) {
          // A refused or reset connection is "this instance is gone"; a timeout is not, and fails.
          if ((error as Error).name === 'TimeoutError') throw error;
          unreachable[by] = (unreachable[by] ?? 0) + 1;
          lastError = error;
        }
      }
      throw new Error(`no instance answered ${method} ${url.pathname}`, { cause: lastError });
    },
  };
}

export interface UploadOutcome {
  id: string;
  size: number;
  sha256: string;
  /** completed: the client saw complete answer 200; aborted: the bytes never landed, so it gave up. */
  result: 'completed' | 'aborted';
  /** Instances that answered sign, put and complete. */
  path: [number, number, number];
}

/**
 * sign → PUT → complete, each step preferring another instance (`first`, then the next ones), so
 * most uploads cross instances. Throws on any answer that is not part of the protocol's happy path.
 */
export async function uploadThrough(api: ApiClient, first: number, bytes: Uint8Array, route = 'default'): Promise<UploadOutcome> {
  const signed = await api.call(first, 'POST', '/api/upload', { json: { size: bytes.length, contentType: 'video/mp4', route } });
  if (signed.status !== 200) throw new Error(`sign answered ${signed.status}: ${JSON.stringify(signed.json)}`);
  const id = String(signed.json.uploadId);
  const put = await api.call(first + 1, 'PUT', String(signed.json.presignedUrl), {
    body: bytes,
    headers: signed.json.headers as Record<string, string>,
  });
  // A PUT whose answer was lost with a killed instance may have landed: complete decides.
  const done = await api.call(first + 2, 'POST', `/api/upload/${id}/complete`, { json: {} });
  const outcome = { id, size: bytes.length, sha256: sha256(bytes), path: [signed.by, put.by, done.by] as [number, number, number] };
  if (done.status === 200) return { ...outcome, result: 'completed' };
  if (done.status === 409 && put.status !== 200) {
    const aborted = await api.call(first, 'DELETE', `/api/upload/${id}`);
    if (aborted.status === 200) return { ...outcome, result: 'aborted' };
  }
  throw new Error(`upload ${id}: put ${put.status}, complete ${done.status} ${JSON.stringify(done.json)}`);
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
