/**
 * The demo page of `dropgate dev`, a small React app on `dropgate/react`: `<UploadDropzone>`
 * takes picks and drops, `useUpload` drives one card per upload (preview, progress, pause,
 * cancel, retry), and the files panel lists the caller's files with their remaining allowance.
 * Bundled by scripts/build-demo.js into dist/demo/app.js.
 *
 * Every string that a user controls (file names above all) is rendered by React as text, never
 * parsed as HTML.
 *
 * For tests and debugging, `window.dropgateEvents` records every upload event in order:
 * `{type: 'progress' | 'done' | 'error', name, loadedBytes, totalBytes, progress, code?}`.
 * The browser tests read it to check that progress is frequent, monotonic and complete.
 */
import { StrictMode, useCallback, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { describeAnnouncement, type UploadAnnouncement, UploadDropzone, type UploadItem, useUpload } from '../src/react/index.js';
import type { Allowance } from '../src/shared/protocol.js';
import { ENDPOINT, FilesPanel } from './files-panel.js';
import { describeError } from './messages.js';
import { UploadCard } from './upload-card.js';

export interface DemoEvent {
  type: 'progress' | 'done' | 'error';
  name: string;
  loadedBytes: number;
  totalBytes: number;
  progress: number;
  code?: string;
}

declare global {
  interface Window {
    dropgateEvents: DemoEvent[];
  }
}
window.dropgateEvents = [];

function record(type: DemoEvent['type'], item: UploadItem) {
  const { loadedBytes, totalBytes, progress } = item.progress;
  const size = item.file.size;
  const event: DemoEvent =
    type === 'progress'
      ? { type, name: item.name, loadedBytes, totalBytes, progress }
      : type === 'done'
        ? { type, name: item.name, loadedBytes: size, totalBytes: size, progress: 1 }
        : { type, name: item.name, loadedBytes, totalBytes: size, progress: size > 0 ? loadedBytes / size : 0 };
  if (type === 'error' && item.error) event.code = item.error.code;
  window.dropgateEvents.push(event);
}

function App() {
  const [allowance, setAllowance] = useState<Allowance | null>(null);
  // Bumped when an upload ends: the file list and allowance are reloaded (a refused or cancelled
  // upload may have changed the allowance too).
  const [version, setVersion] = useState(0);
  const ended = useCallback(() => setVersion((v) => v + 1), []);
  const uploads = useUpload({
    endpoint: ENDPOINT,
    onProgress: (item) => record('progress', item),
    onComplete: (item) => {
      record('done', item);
      ended();
    },
    onError: (item) => {
      record('error', item);
      ended();
    },
  });

  // A file dropped next to the zone must not navigate away from the page (and lose uploads).
  useEffect(() => {
    const stop = (event: Event) => event.preventDefault();
    for (const type of ['dragover', 'drop']) window.addEventListener(type, stop);
    return () => {
      for (const type of ['dragover', 'drop']) window.removeEventListener(type, stop);
    };
  }, []);

  // A failure is read out as the sentence its card shows; the rest in the component's words.
  const announce = (event: UploadAnnouncement) => {
    if (event.kind !== 'failed') return describeAnnouncement(event);
    const { name, error, file } = event.item;
    return `${name} was not uploaded. ${describeError(error?.code ?? '', error, file, allowance)}`;
  };

  const newestFirst = [...uploads.items].reverse();
  return (
    <>
      <section aria-labelledby="dropzone-title">
        <h2 className="visually-hidden" id="dropzone-title">
          Upload files
        </h2>
        <UploadDropzone
          uploads={uploads}
          id="dropzone"
          inputId="picker"
          name="files"
          className="dropzone"
          label="Choose files to upload"
          hint="Videos, images, audio and PDFs. Several at once is fine."
          announce={announce}
        >
          {({ isDragging }) => (
            <>
              <svg className="dropzone-icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
                <path d="M12 16V4m0 0-4.5 4.5M12 4l4.5 4.5M4 15v3a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-3" />
              </svg>
              <span className="dropzone-title">{isDragging ? 'Drop to upload' : 'Drop files here'}</span>
              <span className="dropzone-or">or</span>
              <span className="button button-primary">Choose files</span>
            </>
          )}
        </UploadDropzone>
      </section>

      <section className="panel" id="uploads-panel" aria-labelledby="uploads-title" hidden={newestFirst.length === 0}>
        <h2 id="uploads-title">Uploading</h2>
        <ul className="uploads" id="uploads" aria-labelledby="uploads-title">
          {newestFirst.map((item) => (
            <UploadCard key={item.id} item={item} uploads={uploads} allowance={allowance} />
          ))}
        </ul>
      </section>

      <FilesPanel version={version} onAllowance={setAllowance} />
    </>
  );
}

createRoot(document.getElementById('app')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
