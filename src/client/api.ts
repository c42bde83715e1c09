import { DropgateError, errorFromBody } from '../shared/errors.js';
import { abortedError } from './put-error.js';
import { parseRetryAfter } from './retry.js';
import type { FetchLike } from './types.js';

export interface ApiCall {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  headers?: Record<string, string> | undefined;
  body?: unknown;
  signal?: AbortSignal | undefined;
}

/**
 * One JSON call to the dropgate API. A non-2xx answer becomes the server's own typed error
 * (`errorFromBody`), so `err.code` is what the server said.
 *
 * @example
 * const answer = await callApi(fetch, { method: 'POST', url: '/api/upload', body: { size, contentType } });
 */
export async function callApi(fetchImpl: FetchLike, call: ApiCall): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
  const init: RequestInit = { method: call.method, headers };
  if (call.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(call.body);
  }
  if (call.signal) init.signal = call.signal;

  let response: Response;
  let text: string;
  try {
    response = await fetchImpl(call.url, init);
    text = await response.text();
  } catch (error) {
    if (call.signal?.aborted) throw abortedError(call.signal.reason);
    throw new DropgateError('NETWORK_ERROR', `Could not reach the upload API at ${call.url}.`, {}, { cause: error });
  }

  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch (error) {
    if (!response.ok) throw withRetryAfter(errorFromBody(response.status, undefined), response);
    throw new DropgateError(
      'INTERNAL_ERROR',
      `The upload API answered ${response.status} with a body that is not JSON.`,
      {},
      { cause: error },
    );
  }
  if (!response.ok) throw withRetryAfter(errorFromBody(response.status, json), response);
  return json;
}

/** A proxy's 429 or 503 may say when to come back only in its header; the retry honours it. */
function withRetryAfter(error: DropgateError, response: Response): DropgateError {
  const seconds = parseRetryAfter(response.headers.get('retry-after'));
  if (seconds !== undefined && error.details.retryAfter === undefined) error.details.retryAfter = seconds;
  return error;
}

/** Joins the API base and path segments, encoding each segment. */
export function apiUrl(endpoint: string, ...segments: string[]): string {
  const base = endpoint.replace(/\/+$/, '');
  return segments.length === 0 ? base : `${base}/${segments.map(encodeURIComponent).join('/')}`;
}

/**
 * Resolves a URL the server answered (it may be relative, e.g. a disk store behind a relative
 * endpoint) against the endpoint, or the page when the endpoint is relative too.
 */
export function resolveUrl(url: string, endpoint: string): string {
  const page = (globalThis as { location?: { href?: string } }).location?.href;
  try {
    return new URL(url, new URL(endpoint, page)).href;
  } catch {
    return url;
  }
}
