/**
 * A PUT that stops making progress is abandoned, so a stalled connection (a proxy that stopped
 * reading, a Wi-Fi hand-over that left the socket hanging) becomes a retry instead of an upload
 * that waits forever. Uppy does the same with a 30 s progress timeout.
 */
import { DropgateError } from '../shared/errors.js';
import type { PutRequest, PutResult } from './types.js';
import { childSignal } from './wait.js';

export const DEFAULT_STALL_TIMEOUT_MS = 30_000;

export type Put = (request: PutRequest) => Promise<PutResult>;

/**
 * `put`, failing with NETWORK_ERROR (`details.reason: 'stalled'`) when neither a progress event
 * nor the answer comes for `timeoutMs`. The clock restarts with every progress event, and keeps
 * running after the last byte: a storage that never answers is stalled too.
 *
 * @example
 * const put = withStallTimeout((r) => fetchPut(r, fetch), 30_000);
 */
export function withStallTimeout(put: Put, timeoutMs = DEFAULT_STALL_TIMEOUT_MS): Put {
  return async (request) => {
    const attempt = childSignal(request.signal);
    let stalled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        attempt.abort();
      }, timeoutMs);
    };
    arm();
    try {
      return await put({
        ...request,
        signal: attempt.signal,
        onProgress: (loaded) => {
          arm();
          request.onProgress?.(loaded);
        },
      });
    } catch (error) {
      if (stalled && !request.signal?.aborted) {
        throw new DropgateError(
          'NETWORK_ERROR',
          `The storage took no bytes for ${timeoutMs / 1000} s.`,
          { reason: 'stalled' },
          { cause: error },
        );
      }
      throw error;
    } finally {
      clearTimeout(timer);
      attempt.dispose();
    }
  };
}
