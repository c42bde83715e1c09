/**
 * The state behind `useUpload`, without React or a browser: real uploads through the dev stack
 * (disk store, PGlite) from Node, watched through the store's snapshots.
 */
import { resolveObjectURL } from 'node:buffer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevStack, startDevStack } from '../../test/helpers/dev-stack.js';
import { createUploadStore, type UploadItem, type UploadStore, type UseUploadOptions } from './upload-store.js';

const PNG_HEAD = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const png = (name: string, size = 500) => {
  const bytes = new Uint8Array(size);
  bytes.set(PNG_HEAD);
  return new File([bytes], name, { type: 'image/png' });
};

/** Resolves once every item of the store has ended. */
function settled(store: UploadStore): Promise<readonly UploadItem[]> {
  const ended = () => store.getSnapshot().every((item) => ['completed', 'failed', 'aborted'].includes(item.state));
  return new Promise((resolve) => {
    if (ended()) return resolve(store.getSnapshot());
    const stop = store.subscribe(() => {
      if (!ended()) return;
      stop();
      resolve(store.getSnapshot());
    });
  });
}

describe('createUploadStore', () => {
  let stack: DevStack;
  beforeAll(async () => {
    stack = await startDevStack();
  });
  afterAll(() => stack?.stop());

  it('uploads each file, keeps a preview URL until removal, and reports through the callbacks', async () => {
    const completed: string[] = [];
    const failed: string[] = [];
    const options: UseUploadOptions = {
      endpoint: stack.endpoint,
      onComplete: (item) => completed.push(item.result.id),
      onError: (item) => failed.push(item.error.code),
    };
    const store = createUploadStore(() => options);
    const snapshots: (readonly UploadItem[])[] = [];
    store.subscribe(() => snapshots.push(store.getSnapshot()));
    const added = store.upload([png('a.png'), png('b.png', 900), new File(['MZ'], 'setup.exe', { type: 'application/x-msdownload' })]);
    expect(added.map((item) => item.state)).toEqual(['signing', 'signing', 'signing']);
    expect(added[0]?.previewUrl).toMatch(/^blob:/);
    expect(added[2]?.previewUrl).toBeUndefined();

    const items = await settled(store);
    expect(items.map((item) => [item.name, item.state, item.result?.size, item.error?.code])).toEqual([
      ['a.png', 'completed', 500, undefined],
      ['b.png', 'completed', 900, undefined],
      ['setup.exe', 'failed', undefined, 'FILE_TYPE_NOT_ALLOWED'],
    ]);
    expect(completed).toHaveLength(2);
    expect(failed).toEqual(['FILE_TYPE_NOT_ALLOWED']);
    // Snapshots are replaced, never mutated: React sees every change.
    expect(new Set(snapshots).size).toBe(snapshots.length);

    const url = items[0]!.previewUrl!;
    expect(resolveObjectURL(url)).toBeDefined();
    await store.remove(items[0]!.id);
    expect(resolveObjectURL(url)).toBeUndefined();
    expect(store.getSnapshot().map((item) => item.name)).toEqual(['b.png', 'setup.exe']);

    const kept = store.getSnapshot()[0]!.previewUrl!;
    store.release();
    expect(resolveObjectURL(kept)).toBeUndefined();
    await store.clear();
    expect(store.getSnapshot()).toEqual([]);
  });

  it('aborts an upload that has not landed, releasing its reservation, and retries it', async () => {
    const store = createUploadStore(() => ({ endpoint: stack.endpoint }));
    const [item] = store.upload([png('later.png', 4000)]);
    await store.abort(item!.id);
    const [aborted] = await settled(store);
    expect(aborted).toMatchObject({ state: 'aborted', error: { code: 'UPLOAD_ABORTED' } });
    // Aborted while signing: the client releases the reservation when the sign answer comes.
    const reserved = async () =>
      ((await (await fetch(stack.endpoint)).json()) as { allowance: { reservedBytes: number } }).allowance.reservedBytes;
    await expect.poll(reserved, { timeout: 10_000 }).toBe(0);

    store.retry(item!.id);
    expect(store.getSnapshot()[0]).toMatchObject({ id: item!.id, state: 'signing', error: undefined });
    const [retried] = await settled(store);
    expect(retried).toMatchObject({ id: item!.id, state: 'completed', result: { size: 4000 } });
  });

  it('asks for an endpoint or a client', () => {
    const store = createUploadStore(() => ({}));
    expect(() => store.upload([png('x.png')])).toThrow(/endpoint/);
  });
});
