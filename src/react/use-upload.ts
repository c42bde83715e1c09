/**
 * `useUpload`: the client's uploads as React state. One item per picked file with its state,
 * progress, error, verified result and a local preview URL, and the actions on them.
 */
import { useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { createUploadStore, isFinished, type UploadActions, type UploadItem, type UseUploadOptions } from './upload-store.js';

export interface UseUploadResult extends UploadActions {
  /** In pick order; each item is replaced (never mutated) when it changes. */
  items: readonly UploadItem[];
  /** Some item is still signing, sending, paused or completing. */
  isUploading: boolean;
}

/**
 * Uploads files through a dropgate API and keeps their state for render.
 *
 * On unmount every upload still running is aborted, so the server releases its allowance at once,
 * except a multipart upload saved in a `resumeStore`: that one is paused and left on the server,
 * so picking the same file again (on this page or a later visit) sends only its missing parts.
 * Preview URLs are revoked on removal and on unmount.
 *
 * Options are read when an upload starts, so a changed `headers` (a fresh token) applies to the
 * next upload without remounting.
 *
 * @example
 * function Uploads() {
 *   const { items, upload, abort } = useUpload({ endpoint: '/api/upload' });
 *   return (
 *     <>
 *       <input type="file" multiple onChange={(e) => upload(e.target.files ?? [])} />
 *       {items.map((item) => (
 *         <p key={item.id}>
 *           {item.name}: {Math.round(item.progress.progress * 100)}% {item.error?.code}
 *           {item.state === 'uploading' && <button onClick={() => abort(item.id)}>Cancel</button>}
 *         </p>
 *       ))}
 *     </>
 *   );
 * }
 */
export function useUpload(options: UseUploadOptions): UseUploadResult {
  const latest = useRef(options);
  latest.current = options;
  const [store] = useState(() => createUploadStore(() => latest.current));
  const items = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  useEffect(() => () => store.release(), [store]);
  return useMemo(
    () => ({
      items,
      isUploading: items.some((item) => !isFinished(item) && item.state !== 'idle'),
      upload: store.upload,
      retry: store.retry,
      pause: store.pause,
      resume: store.resume,
      abort: store.abort,
      remove: store.remove,
      clear: store.clear,
    }),
    [items, store],
  );
}
