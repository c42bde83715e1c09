/**
 * The state behind `useUpload`, without React: one item per picked file, each driven by a client
 * uploader, and an immutable snapshot for `useSyncExternalStore`. Kept React-free so the rules
 * (what unmount does, when a preview URL is revoked) read in one place.
 */
import {
  createClient,
  type DropgateClient,
  DropgateError,
  type FileRecord,
  type UploadOptions,
  type UploadProgress,
} from '../client/index.js';
import type { Uploader, UploadState } from '../client/uploader.js';

/** One picked file and its upload, as the hook hands it to render. Replaced, never mutated. */
export interface UploadItem {
  /** A local id (not the server's): stable from pick to removal, also across `retry`. */
  readonly id: string;
  readonly file: File;
  readonly name: string;
  readonly state: UploadState;
  readonly progress: UploadProgress;
  /** Why it failed or stopped; `code` is the server's (`FILE_TYPE_NOT_ALLOWED`, …) or `UPLOAD_ABORTED`. */
  readonly error: DropgateError | undefined;
  /** The verified file, once `state` is `completed`. */
  readonly result: FileRecord | undefined;
  /** An object URL of the local file for images, videos and audio; revoked on removal and unmount. */
  readonly previewUrl: string | undefined;
}

export interface UseUploadOptions extends Partial<Omit<UploadOptions, 'onProgress' | 'signal'>> {
  /** A client to share with other code; otherwise one is made from these options (then `endpoint` is required). */
  client?: DropgateClient;
  /** Which files get a `previewUrl`. Default: images, videos and audio. */
  preview?: (file: File) => boolean;
  /** Called on every progress report of every item (the item already carries it). */
  onProgress?: (item: UploadItem) => void;
  onComplete?: (item: UploadItem & { result: FileRecord }) => void;
  /** Failures and aborts alike; `item.error.code` tells them apart. */
  onError?: (item: UploadItem & { error: DropgateError }) => void;
}

/** What can be done to the items: the same on the store and on `useUpload`'s result. */
export interface UploadActions {
  /** Starts one upload per file (a FileList, an array, …) and returns the new items. */
  upload(files: Iterable<File> | ArrayLike<File>): UploadItem[];
  /** Starts a failed or aborted item again, with the same id and preview. */
  retry(id: string): void;
  /** Pauses one item, or all when no id is given. The server keeps the upload and its allowance. */
  pause(id?: string): void;
  resume(id?: string): void;
  /** Stops one item (or all) and deletes it on the server, releasing its allowance. The item stays, `aborted`. */
  abort(id?: string): Promise<void>;
  /** Drops an item from the list, aborting it if it still runs, and revokes its preview URL. */
  remove(id: string): Promise<void>;
  /** `remove` for every item. */
  clear(): Promise<void>;
}

export interface UploadStore extends UploadActions {
  subscribe(listener: () => void): () => void;
  getSnapshot(): readonly UploadItem[];
  /** Unmount: see `useUpload`'s doc for what happens to running uploads. */
  release(): void;
}

const FINISHED: ReadonlySet<UploadState> = new Set(['completed', 'failed', 'aborted']);
const isMedia = (file: File) => /^(image|video|audio)\//.test(file.type);
const emptyProgress = (file: File): UploadProgress => ({
  progress: 0,
  loadedBytes: 0,
  totalBytes: file.size,
  bytesPerSecond: 0,
  etaSeconds: null,
});

/**
 * Whatever was thrown, as the one error type, so `item.error.code` is always there.
 * @example toDropgateError(new TypeError('Failed to fetch')).code // 'INTERNAL_ERROR'
 */
export function toDropgateError(error: unknown): DropgateError {
  if (error instanceof DropgateError) return error;
  if (error instanceof Error && error.name === 'AbortError')
    return new DropgateError('UPLOAD_ABORTED', error.message, {}, { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  return new DropgateError('INTERNAL_ERROR', message || 'Upload failed.', {}, { cause: error });
}

let counter = 0;

/**
 * @example
 * const store = createUploadStore(() => ({ endpoint: '/api/upload' }));
 * store.subscribe(() => render(store.getSnapshot()));
 * store.upload(input.files);
 */
export function createUploadStore(getOptions: () => UseUploadOptions): UploadStore {
  let items: readonly UploadItem[] = [];
  const uploaders = new Map<string, Uploader>();
  const listeners = new Set<() => void>();
  let ownClient: DropgateClient | undefined;

  const clientOf = (options: UseUploadOptions): DropgateClient => {
    if (options.client) return options.client;
    if (!options.endpoint) throw new TypeError('useUpload: pass `endpoint` (e.g. "/api/upload") or a `client`.');
    ownClient ??= createClient({ endpoint: options.endpoint, ...(options.concurrency ? { concurrency: options.concurrency } : {}) });
    return ownClient;
  };

  const emit = () => {
    for (const listener of listeners) listener();
  };
  const find = (id: string) => items.find((item) => item.id === id);
  const update = (id: string, patch: Partial<UploadItem>): UploadItem | undefined => {
    const current = find(id);
    if (!current) return undefined; // removed meanwhile: late reports of a cancelled upload change nothing
    const next = { ...current, ...patch };
    items = items.map((item) => (item.id === id ? next : item));
    emit();
    return next;
  };

  const start = (id: string, file: File) => {
    const all = getOptions();
    const { client: _client, preview: _preview, onProgress, onComplete, onError, ...options } = all;
    const uploader: Uploader = clientOf(all).createUpload(file, {
      ...options,
      onProgress: (progress) => {
        // The last report comes before `done` settles: the item is `completed` only with its result.
        const live = uploader.state;
        const state = live === 'completed' ? 'completing' : FINISHED.has(live) ? find(id)?.state : live;
        const item = update(id, { progress, ...(state ? { state } : {}) });
        if (item) onProgress?.(item);
      },
    });
    uploaders.set(id, uploader);
    update(id, { state: 'signing', error: undefined, result: undefined, progress: emptyProgress(file) });
    uploader.start().done.then(
      (result) => {
        if (uploaders.get(id) !== uploader) return;
        uploaders.delete(id);
        const item = update(id, { state: 'completed', result, progress: uploader.progress });
        if (item) onComplete?.({ ...item, result });
      },
      (thrown: unknown) => {
        if (uploaders.get(id) !== uploader) return;
        uploaders.delete(id);
        const error = toDropgateError(thrown);
        const item = update(id, { state: error.code === 'UPLOAD_ABORTED' ? 'aborted' : 'failed', error });
        if (item) onError?.({ ...item, error });
      },
    );
  };

  const targets = (id?: string) => (id === undefined ? [...uploaders.entries()] : [[id, uploaders.get(id)] as const]);
  const refresh = (id: string) => {
    const uploader = uploaders.get(id);
    if (uploader) update(id, { state: uploader.state });
  };
  const forget = (item: UploadItem) => {
    if (item.previewUrl) URL.revokeObjectURL(item.previewUrl);
  };

  const store: UploadStore = {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    getSnapshot: () => items,
    upload(files) {
      const { preview = isMedia } = getOptions();
      const added = Array.from(files as ArrayLike<File>, (file): UploadItem => {
        counter += 1;
        return {
          id: `upload-${counter}`,
          file,
          name: file.name,
          state: 'idle',
          progress: emptyProgress(file),
          error: undefined,
          result: undefined,
          previewUrl: preview(file) ? URL.createObjectURL(file) : undefined,
        };
      });
      if (added.length === 0) return added;
      items = [...items, ...added];
      emit();
      for (const item of added) start(item.id, item.file);
      return added.map((item) => find(item.id) ?? item);
    },
    retry(id) {
      const item = find(id);
      if (item && (item.state === 'failed' || item.state === 'aborted')) start(id, item.file);
    },
    pause(id) {
      for (const [key, uploader] of targets(id)) {
        uploader?.pause();
        refresh(key);
      }
    },
    resume(id) {
      for (const [key, uploader] of targets(id)) {
        uploader?.resume();
        refresh(key);
      }
    },
    async abort(id) {
      await Promise.all(targets(id).map(([, uploader]) => uploader?.abort()));
    },
    async remove(id) {
      const item = find(id);
      if (!item) return;
      const uploader = uploaders.get(id);
      uploaders.delete(id);
      forget(item);
      items = items.filter((other) => other.id !== id);
      emit();
      await uploader?.abort();
    },
    async clear() {
      await Promise.all(items.map((item) => store.remove(item.id)));
    },
    release() {
      for (const [id, uploader] of uploaders) {
        // A saved multipart upload is paused and left for a later page to resume; anything else
        // is aborted, so the server releases its allowance now rather than at expiry.
        if (uploader.resumable) uploader.pause();
        else void uploader.abort();
        uploaders.delete(id);
      }
      for (const item of items) forget(item);
      items = items.map((item) => (item.previewUrl ? { ...item, previewUrl: undefined } : item));
    },
  };
  return store;
}

/** @example items.filter(isFinished) // the completed, failed and aborted ones */
export const isFinished = (item: UploadItem) => FINISHED.has(item.state);
