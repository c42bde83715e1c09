/**
 * "Your files": the caller's completed files, newest first and paged, with their remaining
 * allowance, a link to each file and a Delete button. Names are rendered as text by React, never
 * parsed as HTML.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { formatBytes } from '../src/client/index.js';
import type { Allowance, FileListResponse, FileRecord } from '../src/shared/protocol.js';
import { allowanceText, kindLabel } from './messages.js';

export const ENDPOINT = '/api/upload';

async function fetchFiles(cursor: string | null): Promise<FileListResponse> {
  const url = cursor ? `${ENDPOINT}?cursor=${encodeURIComponent(cursor)}` : ENDPOINT;
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error?.message ?? `the server answered ${response.status}`);
  return body as FileListResponse;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

export interface FilesPanelProps {
  /** Changes whenever the list may have changed (an upload ended): the first page is reloaded. */
  version: number;
  onAllowance(allowance: Allowance): void;
}

export function FilesPanel({ version, onAllowance }: FilesPanelProps) {
  const [files, setFiles] = useState<FileRecord[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [allowance, setAllowance] = useState<Allowance | null>(null);
  const [problem, setProblem] = useState('');
  const [loadingMore, setLoadingMore] = useState(false);
  const listing = useRef(0);

  const show = useCallback(
    (page: FileListResponse) => {
      setCursor(page.nextCursor);
      setProblem('');
      setAllowance(page.allowance);
      onAllowance(page.allowance);
    },
    [onAllowance],
  );

  /** Reloads the first page; a slower earlier reload never wins. */
  const refresh = useCallback(async () => {
    const ticket = ++listing.current;
    try {
      const page = await fetchFiles(null);
      if (ticket !== listing.current) return;
      setFiles(page.files);
      show(page);
    } catch (error) {
      if (ticket === listing.current) setProblem(`Could not load your files: ${messageOf(error)}`);
    }
  }, [show]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `version` is the reason to reload
  useEffect(() => {
    void refresh();
  }, [version, refresh]);

  const loadMore = async () => {
    setLoadingMore(true);
    try {
      const page = await fetchFiles(cursor);
      setFiles((shown) => [...(shown ?? []), ...page.files.filter((file) => !shown?.some((other) => other.id === file.id))]);
      show(page);
    } catch (error) {
      setProblem(`Could not load more files: ${messageOf(error)}`);
    } finally {
      setLoadingMore(false);
    }
  };

  const removed = (id: string) => {
    setFiles((shown) => shown?.filter((file) => file.id !== id) ?? null);
    void refresh();
  };

  const status = problem || (files && files.length === 0 ? 'No files yet. Uploaded files show up here.' : '');
  return (
    <section className="panel" aria-labelledby="files-title">
      <div className="panel-head">
        <h2 id="files-title">Your files</h2>
        <div className="allowance" id="allowance" aria-live="polite" hidden={!allowance}>
          {allowance && <AllowanceMeter allowance={allowance} />}
        </div>
      </div>
      <p className="notice" id="files-status" role="status">
        {status}
      </p>
      <ul className="files" id="files" aria-labelledby="files-title">
        {files?.map((file) => (
          <FileRow key={file.id} file={file} onDeleted={removed} />
        ))}
      </ul>
      <button className="button" type="button" id="more" hidden={!cursor} disabled={loadingMore} onClick={loadMore}>
        Load more
      </button>
    </section>
  );
}

function AllowanceMeter({ allowance }: { allowance: Allowance }) {
  const { usedBytes, reservedBytes, limitBytes } = allowance;
  const used = limitBytes > 0 ? (usedBytes + reservedBytes) / limitBytes : 1;
  const width = `${Math.min(100, Math.max(used > 0 ? 1 : 0, used * 100)).toFixed(1)}%`;
  return (
    <>
      <span className="allowance-text" id="allowance-text">
        {allowanceText(allowance)}
      </span>
      <span className="meter" aria-hidden="true">
        <span className="meter-fill" id="allowance-fill" style={{ width }} />
      </span>
    </>
  );
}

function FileRow({ file, onDeleted }: { file: FileRecord; onDeleted(id: string): void }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState('');
  const name = file.name || file.key.split('/').pop() || file.id;

  const remove = async () => {
    setBusy(true);
    setProblem('');
    try {
      const response = await fetch(`${ENDPOINT}/files/${encodeURIComponent(file.id)}`, { method: 'DELETE' });
      if (!response.ok && response.status !== 404) {
        const body = await response.json().catch(() => null);
        throw new Error(body?.error?.message ?? `the server answered ${response.status}`);
      }
      onDeleted(file.id);
    } catch (error) {
      setProblem(`Could not delete: ${messageOf(error)}`);
      setBusy(false);
    }
  };

  return (
    <li className="file" data-file-id={file.id}>
      <span className="file-kind" aria-hidden="true">
        {kindLabel(name, file.contentType)}
      </span>
      <div className="file-body">
        <a className="file-name" href={file.url} target="_blank" rel="noopener" title={name}>
          {name}
        </a>
        <p className="file-meta">{`${formatBytes(file.size)} · ${file.contentType}`}</p>
      </div>
      <div className="file-actions">
        <span className="file-error" role="alert">
          {problem}
        </span>
        <button type="button" className="button button-quiet" aria-label={`Delete ${name}`} disabled={busy} onClick={remove}>
          Delete
        </button>
      </div>
    </li>
  );
}
