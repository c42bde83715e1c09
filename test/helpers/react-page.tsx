/**
 * The page test/react.test.ts bundles and opens: `<UploadDropzone>` over `useUpload`, in
 * StrictMode (effects run twice in development, as in users' apps), with a plain list of items
 * whose buttons and data attributes the test drives and reads.
 */
import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { UploadDropzone, useUpload } from '../../src/react/index.js';

/** What the test reads of each item (`window.reactItems`). */
export interface PageItem {
  id: string;
  name: string;
  state: string;
  code: string | undefined;
  previewUrl: string | undefined;
  resultSize: number | undefined;
  loadedBytes: number;
}

declare global {
  interface Window {
    reactItems: PageItem[];
    /** Every preview URL the page has shown, revoked or not. */
    reactPreviews: string[];
  }
}
window.reactItems = [];
window.reactPreviews = [];

function Uploads() {
  const uploads = useUpload({ endpoint: '/api/upload' });
  window.reactItems = uploads.items.map((item) => ({
    id: item.id,
    name: item.name,
    state: item.state,
    code: item.error?.code,
    previewUrl: item.previewUrl,
    resultSize: item.result?.size,
    loadedBytes: item.progress.loadedBytes,
  }));
  for (const item of uploads.items)
    if (item.previewUrl && !window.reactPreviews.includes(item.previewUrl)) window.reactPreviews.push(item.previewUrl);
  return (
    <>
      <UploadDropzone uploads={uploads} id="zone" inputId="picker" hint="Images, videos, audio and PDFs." />
      <ul id="items">
        {uploads.items.map((item) => (
          <li key={item.id} data-state={item.state}>
            <span className="name">{item.name}</span>
            <button type="button" onClick={() => uploads.pause(item.id)}>
              Pause {item.name}
            </button>
            <button type="button" onClick={() => uploads.resume(item.id)}>
              Resume {item.name}
            </button>
            <button type="button" onClick={() => uploads.abort(item.id)}>
              Abort {item.name}
            </button>
            <button type="button" onClick={() => uploads.remove(item.id)}>
              Remove {item.name}
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}

function App() {
  const [shown, setShown] = useState(true);
  return (
    <>
      <button type="button" id="unmount" onClick={() => setShown(false)}>
        Unmount
      </button>
      {shown ? <Uploads /> : <p id="gone">Unmounted</p>}
    </>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
