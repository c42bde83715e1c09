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
import { describeError, formatDuration, isRetryable } from './messages.js';

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

refreshFiles();
