/**
 * The demo page: a drop zone, one card per upload (preview, progress, cancel), and the caller's
 * files with their remaining allowance. Plain DOM on purpose; the React components come later.
 *
 * Every string that a user controls (file names above all) reaches the page through `textContent`
 * or a DOM property, never through HTML parsing.
 *
 * For tests and debugging, `window.dropgateEvents` records every upload event in order:
 * `{type: 'progress' | 'done' | 'error', name, loadedBytes, totalBytes, progress, code?}`.
 * The browser tests read it to check that progress is frequent, monotonic and complete.
 */
import { DropgateError, formatBytes, upload } from './client.js';

const ENDPOINT = '/api/upload';

/** @type {Array<{type: string, name: string, loadedBytes: number, totalBytes: number, progress: number, code?: string}>} */
window.dropgateEvents = [];

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const picker = /** @type {HTMLInputElement} */ ($('picker'));
const dropzone = $('dropzone');
const uploadsPanel = $('uploads-panel');
const uploadsList = $('uploads');
const filesList = $('files');
const filesStatus = $('files-status');
const moreButton = $('more');

/** Allowance from the last file listing, so error messages can say when it resets. */
let allowance = null;

/**
 * Creates an element. Strings and numbers among `children` become text nodes, so they are never
 * parsed as HTML; `props` are assigned as DOM properties (`className`, `href`, `onclick`, …).
 */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'role' || key.startsWith('aria-') || key.startsWith('data-')) el.setAttribute(key, String(value));
    else el[key] = value;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return el;
}

// ── Picking and dropping ────────────────────────────────────────────────────────────────────

picker.addEventListener('change', () => {
  startAll(picker.files);
  // Let the same file be picked again after a cancel or an error.
  picker.value = '';
});

let dragDepth = 0;
dropzone.addEventListener('dragenter', (event) => {
  event.preventDefault();
  dragDepth += 1;
  dropzone.classList.add('is-dragging');
});
dropzone.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) dropzone.classList.remove('is-dragging');
});
dropzone.addEventListener('dragover', (event) => {
  event.preventDefault();
  if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
});
dropzone.addEventListener('drop', (event) => {
  event.preventDefault();
  dragDepth = 0;
  dropzone.classList.remove('is-dragging');
  startAll(event.dataTransfer?.files);
});
// A file dropped next to the zone must not navigate away from the page (and lose uploads).
for (const type of ['dragover', 'drop']) window.addEventListener(type, (event) => event.preventDefault());

function startAll(fileList) {
  for (const file of fileList ?? []) startUpload(file);
}

// ── One upload ──────────────────────────────────────────────────────────────────────────────

function record(type, name, loadedBytes, totalBytes, progress, code) {
  const event = { type, name, loadedBytes, totalBytes, progress };
  if (code !== undefined) event.code = code;
  window.dropgateEvents.push(event);
}

/** A preview straight from the local file: shown at once, long before the upload ends. */
function previewFor(file, objectUrl) {
  const kind = file.type.split('/')[0];
  if (kind === 'video') {
    return h('video', { src: objectUrl, muted: true, controls: true, playsInline: true, preload: 'metadata', 'aria-label': 'Preview' });
  }
  if (kind === 'image') return h('img', { src: objectUrl, alt: 'Preview', decoding: 'async' });
  if (kind === 'audio') return h('audio', { src: objectUrl, controls: true, preload: 'metadata', 'aria-label': 'Preview' });
  return h('span', { className: 'preview-generic', 'aria-hidden': 'true' }, kindLabel(file.name, file.type));
}

function startUpload(file) {
  const objectUrl = URL.createObjectURL(file);
  const bar = h('progress', { max: 1, value: 0, 'aria-label': `Upload progress of ${file.name}` });
  const stats = h('p', { className: 'upload-stats' }, `Waiting · ${formatBytes(file.size)}`);
  const message = h('p', { className: 'upload-message', role: 'alert', hidden: true });
  const actions = h('div', { className: 'upload-actions' });
  const card = h(
    'li',
    { className: 'upload is-active' },
    h('div', { className: 'preview' }, previewFor(file, objectUrl)),
    h(
      'div',
      { className: 'upload-body' },
      h('p', { className: 'upload-name', title: file.name }, file.name),
      h('p', { className: 'upload-meta' }, `${formatBytes(file.size)} · ${file.type || 'unknown type'}`),
      bar,
      stats,
      message,
    ),
    actions,
  );
  uploadsPanel.hidden = false;
  uploadsList.prepend(card);

  const dismiss = () => {
    URL.revokeObjectURL(objectUrl);
    card.remove();
    if (!uploadsList.firstElementChild) uploadsPanel.hidden = true;
  };

  const run = async () => {
    const controller = new AbortController();
    let loaded = 0;
    card.className = 'upload is-active';
    message.hidden = true;
    bar.value = 0;
    stats.textContent = `Starting · ${formatBytes(file.size)}`;
    actions.replaceChildren(
      h(
        'button',
        { type: 'button', className: 'button', onclick: () => controller.abort(), 'aria-label': `Cancel upload of ${file.name}` },
        'Cancel',
      ),
    );
    try {
      const stored = await upload(file, {
        endpoint: ENDPOINT,
        signal: controller.signal,
        onProgress: (report) => {
          loaded = report.loadedBytes;
          record('progress', file.name, report.loadedBytes, report.totalBytes, report.progress);
          bar.value = report.progress;
          stats.textContent = progressText(report);
        },
      });
      record('done', file.name, file.size, file.size, 1);
      card.className = 'upload is-done';
      bar.value = 1;
      stats.replaceChildren('Uploaded · ', h('a', { href: stored.url, target: '_blank', rel: 'noopener' }, 'open'));
      actions.replaceChildren(dismissButton(file, dismiss));
      refreshFiles();
    } catch (error) {
      const code = errorCode(error);
      record('error', file.name, loaded, file.size, file.size > 0 ? loaded / file.size : 0, code);
      const cancelled = code === 'UPLOAD_ABORTED';
      card.className = cancelled ? 'upload is-cancelled' : 'upload is-failed';
      stats.textContent = cancelled ? `Cancelled at ${formatBytes(loaded)} of ${formatBytes(file.size)}` : 'Not uploaded';
      if (!cancelled) {
        message.textContent = describeError(code, error, file, allowance);
        message.hidden = false;
      }
      actions.replaceChildren(
        ...(cancelled || isRetryable(code)
          ? [h('button', { type: 'button', className: 'button', onclick: run, 'aria-label': `Retry ${file.name}` }, 'Retry')]
          : []),
        dismissButton(file, dismiss),
      );
      // A refused upload may still have changed the allowance (a cancelled one releases it).
      refreshFiles();
    }
  };
  run();
}

function dismissButton(file, dismiss) {
  return h(
    'button',
    { type: 'button', className: 'button button-quiet', onclick: dismiss, 'aria-label': `Dismiss ${file.name}` },
    'Dismiss',
  );
}

/** The error's code; an abort and a dropped connection get codes like the server's own. */
function errorCode(error) {
  if (error instanceof DropgateError || typeof error?.code === 'string') return error.code;
  if (error?.name === 'AbortError') return 'UPLOAD_ABORTED';
  if (error instanceof TypeError) return 'NETWORK_ERROR';
  return 'INTERNAL_ERROR';
}

/** `12 MiB of 50 MiB · 24% · 8.1 MiB/s · 5 s left`, from the client's progress report. */
function progressText({ loadedBytes, totalBytes, bytesPerSecond, etaSeconds }) {
  const percent = totalBytes > 0 ? Math.floor((loadedBytes / totalBytes) * 100) : 0;
  const parts = [`${formatBytes(loadedBytes)} of ${formatBytes(totalBytes)}`, `${percent}%`];
  if (bytesPerSecond > 0) parts.push(`${formatBytes(bytesPerSecond)}/s`);
  if (loadedBytes >= totalBytes) parts.push('checking…');
  else if (etaSeconds !== null && etaSeconds !== undefined) parts.push(`${formatDuration(etaSeconds)} left`);
  return parts.join(' · ');
}

// ── The caller's files and allowance ────────────────────────────────────────────────────────

let nextCursor = null;
let listing = 0;

/** Reloads the first page of files and the allowance; a slower earlier reload never wins. */
async function refreshFiles() {
  const ticket = ++listing;
  try {
    const page = await fetchFiles(null);
    if (ticket !== listing) return;
    filesList.replaceChildren(...page.files.map(fileRow));
    showPage(page);
  } catch (error) {
    if (ticket === listing) filesStatus.textContent = `Could not load your files: ${error.message}`;
  }
}

moreButton.addEventListener('click', async () => {
  moreButton.disabled = true;
  try {
    const page = await fetchFiles(nextCursor);
    filesList.append(...page.files.map(fileRow));
    showPage(page);
  } catch (error) {
    filesStatus.textContent = `Could not load more files: ${error.message}`;
  } finally {
    moreButton.disabled = false;
  }
});

async function fetchFiles(cursor) {
  const url = cursor ? `${ENDPOINT}?cursor=${encodeURIComponent(cursor)}` : ENDPOINT;
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error?.message ?? `the server answered ${response.status}`);
  return body;
}

function showPage(page) {
  nextCursor = page.nextCursor;
  moreButton.hidden = !nextCursor;
  filesStatus.textContent = filesList.childElementCount === 0 ? 'No files yet. Uploaded files show up here.' : '';
  if (page.allowance) showAllowance(page.allowance);
}

function showAllowance(value) {
  allowance = value;
  const period = { day: ' today', month: ' this month', total: '' }[value.period] ?? '';
  const resets = value.resetsAt ? ` · resets ${formatTime(value.resetsAt)}` : '';
  $('allowance-text').textContent = `${formatBytes(value.remainingBytes)} of ${formatBytes(value.limitBytes)} left${period}${resets}`;
  const used = value.limitBytes > 0 ? (value.usedBytes + value.reservedBytes) / value.limitBytes : 1;
  $('allowance-fill').style.width = `${Math.min(100, Math.max(used > 0 ? 1 : 0, used * 100)).toFixed(1)}%`;
  $('allowance').hidden = false;
}

function formatTime(iso) {
  const date = new Date(iso);
  const time = date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  const tomorrow = new Date();
  tomorrow.setDate(tomorrow.getDate() + 1);
  if (date.toDateString() === new Date().toDateString()) return `at ${time}`;
  if (date.toDateString() === tomorrow.toDateString()) return `tomorrow at ${time}`;
  return `on ${date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}`;
}

function fileRow(file) {
  const name = file.name || file.key.split('/').pop();
  const row = h(
    'li',
    { className: 'file', 'data-file-id': file.id },
    h('span', { className: 'file-kind', 'aria-hidden': 'true' }, kindLabel(name, file.contentType)),
    h(
      'div',
      { className: 'file-body' },
      h('a', { className: 'file-name', href: file.url, target: '_blank', rel: 'noopener', title: name }, name),
      h('p', { className: 'file-meta' }, `${formatBytes(file.size)} · ${file.contentType}`),
    ),
  );
  const status = h('span', { className: 'file-error', role: 'alert' });
  const remove = h('button', { type: 'button', className: 'button button-quiet', 'aria-label': `Delete ${name}` }, 'Delete');
  remove.addEventListener('click', async () => {
    remove.disabled = true;
    status.textContent = '';
    try {
      const response = await fetch(`${ENDPOINT}/files/${encodeURIComponent(file.id)}`, { method: 'DELETE' });
      if (!response.ok && response.status !== 404) {
        const body = await response.json().catch(() => null);
        throw new Error(body?.error?.message ?? `the server answered ${response.status}`);
      }
      row.remove();
      refreshFiles();
    } catch (error) {
      status.textContent = `Could not delete: ${error.message}`;
      remove.disabled = false;
    }
  });
  row.append(h('div', { className: 'file-actions' }, status, remove));
  return row;
}

/** A short badge: the name's extension, else the type's subtype (`mp4`, `png`, `pdf`). */
function kindLabel(name, contentType) {
  const extension = /\.([a-z0-9]{1,4})$/i.exec(name)?.[1];
  const subtype = contentType
    .split('/')[1]
    ?.split(/[.+;-]/)
    .pop();
  return (extension ?? subtype ?? 'file').slice(0, 4).toUpperCase();
}

// ── Messages: human sentences from an error's code and details (no DOM below this line) ───────

/** Two sizes that must read as different even when they round to the same figure (max vs max+1). */
function formatPair(a, b) {
  const [fa, fb] = [formatBytes(a), formatBytes(b)];
  if (fa !== fb || a === b) return [fa, fb];
  const exact = (n) => `${n.toLocaleString('en-US')} bytes`;
  return [exact(a), exact(b)];
}

/** @example formatDuration(75) // '1 min 15 s' */
function formatDuration(seconds) {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

const FRIENDLY_TYPES = { 'video/*': 'videos', 'image/*': 'images', 'audio/*': 'audio', 'application/pdf': 'PDFs' };

function listTypes(types) {
  const names = types.map((t) => FRIENDLY_TYPES[t] ?? t);
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : (names[0] ?? '');
}

/** Seconds to wait, from whichever form the details carry (`retryAfter` seconds or `retryAfterMs`). */
function retryAfterSeconds(details) {
  const seconds = Number(details.retryAfter ?? details.retryAfterSeconds ?? Number.NaN);
  if (Number.isFinite(seconds)) return seconds;
  const ms = Number(details.retryAfterMs ?? details.msBeforeNext ?? Number.NaN);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

const PERIOD_WORDS = { day: 'today', month: 'this month' };

/** Codes worth a Retry button: the same request may well succeed a bit later. */
function isRetryable(code) {
  return [
    'RATE_LIMITED',
    'NETWORK_ERROR',
    'STORAGE_UNAVAILABLE',
    'LEDGER_UNAVAILABLE',
    'SERVICE_UNAVAILABLE',
    'UPLOAD_EXPIRED',
    'INTERNAL_ERROR',
  ].includes(code);
}

/**
 * A sentence a person can act on, for an upload of `file` that failed with `code`.
 * `error` is the thrown value (its `details` and `message` are used); `allowance` is the last
 * known allowance from the file listing, or null.
 * @example describeError('FILE_TOO_LARGE', { details: { maxBytes: 209715200 } }, { size: 327155712 })
 * // 'This file is 312 MiB; the limit is 200 MiB.'
 */
function describeError(code, error, file, allowance = null) {
  const details = error?.details ?? {};
  switch (code) {
    case 'FILE_TOO_LARGE': {
      // The server planned a multipart upload that this client cannot do yet: its message says so.
      if (details.unsupported) return error.message;
      const max = Number(details.maxBytes);
      if (!Number.isFinite(max)) return `This file is ${formatBytes(file.size)}, which is over the size limit.`;
      const [size, limit] = formatPair(file.size, max);
      return `This file is ${size}; the limit is ${limit}.`;
    }
    case 'FILE_TYPE_NOT_ALLOWED': {
      const type = details.contentType ?? file.type;
      if (details.extension && type)
        return `The name ends in .${details.extension}, but the file says it is ${type}. Rename it or pick another file.`;
      const allowed = Array.isArray(details.allowedTypes) ? details.allowedTypes : Array.isArray(details.allowed) ? details.allowed : [];
      const what = type ? `Files of type ${type}` : 'Files of an unknown type';
      return `${what} can't be uploaded here.${allowed.length ? ` You can upload ${listTypes(allowed)}.` : ''}`;
    }
    case 'QUOTA_EXCEEDED': {
      const remaining = Number(details.remainingBytes ?? allowance?.remainingBytes);
      const when = PERIOD_WORDS[details.period ?? allowance?.period];
      const left = Number.isFinite(remaining)
        ? `only ${formatBytes(Math.max(0, remaining))} of your allowance is left${when ? ` ${when}` : ''}`
        : 'your upload allowance is used up';
      return `This file is ${formatBytes(file.size)}, but ${left}. Delete some files or try again later.`;
    }
    case 'RATE_LIMITED': {
      const wait = retryAfterSeconds(details);
      return `Too many uploads in a short time. ${wait === undefined ? 'Try again in a moment.' : `Try again in ${formatDuration(wait)}.`}`;
    }
    case 'TOO_MANY_PENDING_UPLOADS':
      return 'You have too many unfinished uploads. Let some finish (or cancel them) and try again.';
    case 'NETWORK_ERROR':
      return 'The connection dropped during the upload. Check your network and try again.';
    case 'UNAUTHENTICATED':
      return 'You need to sign in to upload files.';
    case 'FORBIDDEN':
      return "You don't have permission to upload here.";
    case 'UPLOAD_EXPIRED':
      return 'The upload took longer than its link allows. Try again.';
    case 'UPLOAD_INTEGRITY_FAILED':
      return "What arrived in storage didn't match this file (its size, type or contents), so it was discarded.";
    case 'STORAGE_UNAVAILABLE':
    case 'LEDGER_UNAVAILABLE':
    case 'SERVICE_UNAVAILABLE':
      return 'The upload service is unavailable right now. Try again in a minute.';
    case 'INVALID_REQUEST':
      if (file.size === 0) return 'This file is empty; there is nothing to upload.';
      return error?.message ? `This file can't be uploaded: ${error.message}` : "This file can't be uploaded.";
    default:
      return error?.message ? `Upload failed: ${error.message}` : 'Upload failed.';
  }
}

refreshFiles();
