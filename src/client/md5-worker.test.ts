import { resolveObjectURL } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LANES } from '../shared/md5-lanes.js';
import { md5Base64 } from './hash-part.js';
import { canUseWorkers, createWorkerHasher, defaultPartHasher, hashesNatively, md5WorkerSource } from './md5-worker.js';

const md5Of = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('base64');

/**
 * A Worker whose script runs in a fresh V8 context (its own globals, nothing of this module's):
 * what a Blob-URL worker gets, so a copied function that leans on a module-level name fails here.
 */
class VmWorker {
  static created = 0;
  static terminated = 0;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: ((event: { preventDefault(): void }) => void) | null = null;
  private scope: { onmessage?: (event: { data: unknown }) => void } | undefined;
  private ready: Promise<void>;
  private ended = false;

  constructor(url: string) {
    VmWorker.created += 1;
    this.ready = (async () => {
      const source = await (resolveObjectURL(url) as Blob).text();
      const scope: NonNullable<typeof this.scope> = {};
      const postMessage = (data: unknown) => queueMicrotask(() => !this.ended && this.onmessage?.({ data }));
      runInNewContext(source, Object.assign(scope, { atob, btoa, postMessage }));
      this.scope = scope;
    })().catch(() => this.onerror?.({ preventDefault() {} }));
  }

  postMessage(data: unknown): void {
    // An exception in the script's handler is the worker's `error` event, as in a browser.
    void this.ready.then(() => this.scope?.onmessage?.({ data })).catch(() => this.onerror?.({ preventDefault() {} }));
  }

  terminate(): void {
    this.ended = true;
    VmWorker.terminated += 1;
  }
}

afterEach(() => {
  vi.unstubAllGlobals();
  VmWorker.created = 0;
  VmWorker.terminated = 0;
});

describe('md5WorkerSource', () => {
  it('is one self-contained script: in a bare context it hashes across chunk boundaries like node:crypto', async () => {
    const replies: unknown[] = [];
    const scope: { onmessage?: (event: { data: unknown }) => void } = {};
    runInNewContext(md5WorkerSource(), Object.assign(scope, { atob, btoa, postMessage: (reply: unknown) => replies.push(reply) }));
    const sizes = [0, 3, 4 * 1024 * 1024, 4 * 1024 * 1024 + 1, 9 * 1024 * 1024 + 7];
    const inputs = sizes.map((size) => randomBytes(size));
    for (const [i, bytes] of inputs.entries()) scope.onmessage?.({ data: { id: i + 1, part: new Blob([bytes]) } });
    await vi.waitFor(() => expect(replies).toHaveLength(sizes.length));
    expect(replies).toEqual(expect.arrayContaining(inputs.map((bytes, i) => ({ id: i + 1, md5: md5Of(bytes), lanes: true }))));
  });

  it('answers an error, not a hang, for a part it cannot read', async () => {
    const replies: unknown[] = [];
    const scope: { onmessage?: (event: { data: unknown }) => void } = {};
    runInNewContext(md5WorkerSource(), Object.assign(scope, { atob, btoa, postMessage: (reply: unknown) => replies.push(reply) }));
    const unreadable = { size: 10, slice: () => ({ arrayBuffer: () => Promise.reject(new Error('NotReadableError')) }) };
    scope.onmessage?.({ data: { id: 7, part: unreadable } });
    await vi.waitFor(() => expect(replies).toEqual([{ id: 7, error: 'NotReadableError' }]));
  });
});

describe('createWorkerHasher', () => {
  it('hashes in workers, no more than maxWorkers, and ends them when idle', async () => {
    vi.stubGlobal('Worker', VmWorker);
    const fallback = vi.fn(md5Base64);
    const hasher = createWorkerHasher({ maxWorkers: 2, idleMs: 20, fallback });
    // One part more than a worker's lanes: a second worker starts.
    const parts = Array.from({ length: LANES + 1 }, (_, i) => randomBytes(256 * 1024 + i));
    const md5s = await Promise.all(parts.map((bytes) => hasher(new Blob([bytes]))));
    expect(md5s).toEqual(parts.map(md5Of));
    expect(VmWorker.created).toBe(2);
    expect(fallback).not.toHaveBeenCalled();
    await vi.waitFor(() => expect(VmWorker.terminated).toBe(2));
    // A later part starts a worker again.
    expect(await hasher(new Blob(['abc']))).toBe('kAFQmDzST7DWlj99KOF/cg==');
    expect(VmWorker.created).toBe(3);
    hasher.terminate();
  });

  it('falls back to the main thread, for good, when a worker cannot run', async () => {
    class FailingWorker extends VmWorker {
      constructor(url: string) {
        super(url);
        queueMicrotask(() => this.onerror?.({ preventDefault() {} }));
      }
      override postMessage(): void {}
    }
    vi.stubGlobal('Worker', FailingWorker);
    const fallback = vi.fn(md5Base64);
    const hasher = createWorkerHasher({ maxWorkers: 1, fallback });
    const [a, b] = await Promise.all([hasher(new Blob(['abc'])), hasher(new Blob(['abcd']))]);
    expect([a, b]).toEqual([md5Of(Buffer.from('abc')), md5Of(Buffer.from('abcd'))]);
    expect(await hasher(new Blob(['x']))).toBe(md5Of(Buffer.from('x')));
    expect(fallback).toHaveBeenCalledTimes(3);
    expect(VmWorker.created).toBe(1);
  });

  it('falls back when the Worker constructor throws (a CSP without blob: workers)', async () => {
    vi.stubGlobal(
      'Worker',
      class {
        constructor() {
          throw new DOMException('blocked', 'SecurityError');
        }
      },
    );
    const hasher = createWorkerHasher();
    expect(await hasher(new Blob(['abc']))).toBe('kAFQmDzST7DWlj99KOF/cg==');
  });

  it('retries a part the worker could not read on the main thread, so a real read error is the upload’s', async () => {
    vi.stubGlobal('Worker', VmWorker);
    const hasher = createWorkerHasher({ fallback: async () => Promise.reject(new Error('file changed')) });
    const unreadable = { size: 10, slice: () => ({ arrayBuffer: () => Promise.reject(new Error('NotReadableError')) }) };
    await expect(hasher(unreadable as unknown as Blob)).rejects.toThrow('file changed');
    hasher.terminate();
  });
});

describe('defaultPartHasher', () => {
  it('is the twelve-lane MD5 in Node, even where a Worker global exists, and counts as hashing natively', async () => {
    vi.stubGlobal('Worker', VmWorker);
    expect(canUseWorkers()).toBe(true);
    const hasher = defaultPartHasher();
    expect(hasher.lanes).toBe(12);
    expect(hashesNatively(hasher)).toBe(true);
    expect(defaultPartHasher()).toBe(hasher);
    const blob = new Blob(['abc']);
    expect(await hasher(blob)).toBe(await md5Base64(blob));
  });
});
