/**
 * One concurrency limit for every part of every upload of a client, so ten files at once still
 * keep `concurrency` requests on the wire, not ten times that. A 429 pauses the whole queue for the
 * time the storage asked and halves the limit; each success then gives one slot back.
 */
import { abortedError } from './put-error.js';
import { sleep } from './wait.js';

export interface Queue {
  /** Waits for a slot (first come, first served); call the returned function to give it back. */
  acquire(signal?: AbortSignal): Promise<() => void>;
  /** Resolves once no 429 is holding the queue (at once when none is). */
  open(signal?: AbortSignal): Promise<void>;
  /** A 429: nothing new starts for `ms`, and fewer run at once until requests succeed again. */
  rateLimited(ms: number): void;
  /** A request went through: one more slot, up to the configured limit. */
  succeeded(): void;
  readonly active: number;
  readonly limit: number;
}

interface Waiter {
  resolve(release: () => void): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/**
 * @example
 * const queue = createQueue(4);
 * const release = await queue.acquire(signal);
 * try { await putPart(); queue.succeeded(); } finally { release(); }
 */
export function createQueue(concurrency: number, now: () => number = Date.now): Queue {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new TypeError(`dropgate: concurrency must be a whole number of at least 1, got ${concurrency}.`);
  }
  const waiters: Waiter[] = [];
  let active = 0;
  let limit = concurrency;
  let pausedUntil = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const pump = () => {
    const wait = pausedUntil - now();
    if (wait > 0) {
      // A timer only while someone is waiting: an idle client must not keep Node alive.
      if (!timer && waiters.length > 0) {
        timer = setTimeout(() => {
          timer = undefined;
          pump();
        }, wait);
      }
      return;
    }
    while (active < limit && waiters.length > 0) {
      const waiter = waiters.shift() as Waiter;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      active += 1;
      let released = false;
      waiter.resolve(() => {
        if (released) return;
        released = true;
        active -= 1;
        pump();
      });
    }
  };

  return {
    acquire(signal) {
      return new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(abortedError(signal.reason));
        const waiter: Waiter = {
          resolve,
          reject,
          signal,
          onAbort: () => {
            const at = waiters.indexOf(waiter);
            if (at >= 0) waiters.splice(at, 1);
            reject(abortedError(signal?.reason));
          },
        };
        signal?.addEventListener('abort', waiter.onAbort, { once: true });
        waiters.push(waiter);
        pump();
      });
    },
    async open(signal) {
      for (let wait = pausedUntil - now(); wait > 0; wait = pausedUntil - now()) await sleep(wait, signal);
    },
    rateLimited(ms) {
      pausedUntil = Math.max(pausedUntil, now() + ms);
      limit = Math.max(1, Math.floor(limit / 2));
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      pump();
    },
    succeeded() {
      if (limit < concurrency) {
        limit += 1;
        pump();
      }
    },
    get active() {
      return active;
    },
    get limit() {
      return limit;
    },
  };
}
