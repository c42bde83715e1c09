/**
 * Waiting that an abort can cut short: a delay, the browser coming back online, and a child
 * signal that fires with its parent (pause/abort reach every part in flight through one).
 */
import { abortedError } from './put-error.js';

/**
 * Resolves after `ms`, or rejects with UPLOAD_ABORTED as soon as `signal` fires.
 * @example await sleep(1000, signal);
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(signal.reason));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface OnlineTarget {
  navigator?: { onLine?: boolean };
  addEventListener?: (type: 'online', listener: () => void) => void;
  removeEventListener?: (type: 'online', listener: () => void) => void;
}

/** True only where a browser says so; Node has no such signal and is never "offline". */
export function isOffline(target: OnlineTarget = globalThis as OnlineTarget): boolean {
  return target.navigator?.onLine === false && typeof target.addEventListener === 'function';
}

/**
 * Resolves when the browser fires `online` (at once when it is not offline); rejects on abort.
 * Waiting offline spends no retry: a laptop that sleeps for an hour resumes where it was.
 * @example if (isOffline()) await waitForOnline(signal);
 */
export function waitForOnline(signal?: AbortSignal, target: OnlineTarget = globalThis as OnlineTarget): Promise<void> {
  if (!isOffline(target)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(signal.reason));
    const done = () => {
      target.removeEventListener?.('online', onOnline);
      signal?.removeEventListener('abort', onAbort);
    };
    const onOnline = () => {
      done();
      resolve();
    };
    const onAbort = () => {
      done();
      reject(abortedError(signal?.reason));
    };
    target.addEventListener?.('online', onOnline);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface ChildSignal {
  signal: AbortSignal;
  abort(reason?: unknown): void;
  /** Stops listening to the parent (call when the child's work is over). */
  dispose(): void;
}

/**
 * A signal that fires when `parent` does, or when aborted itself. (`AbortSignal.any` would do,
 * but Safari before 17.4 lacks it.)
 * @example const attempt = childSignal(run.signal); put({ signal: attempt.signal }); attempt.dispose();
 */
export function childSignal(parent?: AbortSignal): ChildSignal {
  const controller = new AbortController();
  const onAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    dispose: () => parent?.removeEventListener('abort', onAbort),
  };
}

/**
 * `promise`, or UPLOAD_ABORTED as soon as `signal` fires, after which `abandon` deals with the
 * promise's late result (a sign answer whose reservation must be released).
 * @example const sign = await untilAborted(signing, signal, () => signing.then(release));
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, abandon: () => void): Promise<T> {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      abandon();
      return reject(abortedError(signal.reason));
    }
    const onAbort = () => {
      abandon();
      reject(abortedError(signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
