/**
 * One upload on the demo page: a preview straight from the local file (shown at once, long before
 * the upload ends), progress with bytes, percent, speed and time left, a readable message when it
 * fails, and the actions that fit its state.
 */
import { formatBytes } from '../src/client/index.js';
import type { UploadItem, UseUploadResult } from '../src/react/index.js';
import type { Allowance } from '../src/shared/protocol.js';
import { describeError, isRetryable, kindLabel, progressText } from './messages.js';

const ACTIVE = new Set(['idle', 'signing', 'uploading', 'paused', 'completing']);

function Preview({ item }: { item: UploadItem }) {
  const kind = item.file.type.split('/')[0];
  const src = item.previewUrl;
  if (src && kind === 'video') return <video src={src} muted controls playsInline preload="metadata" aria-label="Preview" />;
  if (src && kind === 'image') return <img src={src} alt="Preview" decoding="async" />;
  // biome-ignore lint/a11y/useMediaCaption: a preview of the user's own local file, which has no captions to offer
  if (src && kind === 'audio') return <audio src={src} controls preload="metadata" aria-label="Preview" />;
  return (
    <span className="preview-generic" aria-hidden="true">
      {kindLabel(item.name, item.file.type)}
    </span>
  );
}

function Stats({ item }: { item: UploadItem }) {
  const { state, progress, file } = item;
  if (state === 'completed') {
    return (
      <p className="upload-stats">
        Uploaded ·{' '}
        <a href={item.result?.url} target="_blank" rel="noopener">
          open
        </a>
      </p>
    );
  }
  let text: string;
  if (state === 'aborted') text = `Cancelled at ${formatBytes(progress.loadedBytes)} of ${formatBytes(file.size)}`;
  else if (state === 'failed') text = 'Not uploaded';
  else if (state === 'paused') text = `Paused at ${formatBytes(progress.loadedBytes)} of ${formatBytes(file.size)}`;
  else if (state === 'idle' || state === 'signing') text = `Starting · ${formatBytes(file.size)}`;
  else text = progressText(progress);
  return <p className="upload-stats">{text}</p>;
}

export interface UploadCardProps {
  item: UploadItem;
  uploads: UseUploadResult;
  /** The last known allowance, so a quota message can say what is left. */
  allowance: Allowance | null;
}

export function UploadCard({ item, uploads, allowance }: UploadCardProps) {
  const { id, name, state, file, error } = item;
  const code = error?.code ?? '';
  const cancelled = state === 'aborted';
  const failed = state === 'failed';
  const active = ACTIVE.has(state);
  const className = `upload ${active ? 'is-active' : state === 'completed' ? 'is-done' : cancelled ? 'is-cancelled' : 'is-failed'}`;
  const button = (label: string, aria: string, onClick: () => void, quiet = false) => (
    <button type="button" className={quiet ? 'button button-quiet' : 'button'} aria-label={aria} onClick={onClick}>
      {label}
    </button>
  );

  return (
    <li className={className}>
      <div className="preview">
        <Preview item={item} />
      </div>
      <div className="upload-body">
        <p className="upload-name" title={name}>
          {name}
        </p>
        <p className="upload-meta">{`${formatBytes(file.size)} · ${file.type || 'unknown type'}`}</p>
        <progress max={1} value={state === 'completed' ? 1 : item.progress.progress} aria-label={`Upload progress of ${name}`} />
        <Stats item={item} />
        <p className="upload-message" role="alert" hidden={!failed}>
          {failed ? describeError(code, error, file, allowance) : ''}
        </p>
      </div>
      <div className="upload-actions">
        {(state === 'signing' || state === 'uploading') && button('Pause', `Pause upload of ${name}`, () => uploads.pause(id))}
        {state === 'paused' && button('Resume', `Resume upload of ${name}`, () => uploads.resume(id))}
        {active && state !== 'completing' && button('Cancel', `Cancel upload of ${name}`, () => void uploads.abort(id))}
        {(cancelled || (failed && isRetryable(code))) && button('Retry', `Retry ${name}`, () => uploads.retry(id))}
        {!active && button('Dismiss', `Dismiss ${name}`, () => void uploads.remove(id), true)}
      </div>
    </li>
  );
}
