/**
 * The demo's error messages: human sentences from a DropgateError's code and details. No DOM here,
 * so the wording can be read and tested on its own.
 */
import { formatBytes } from './client.js';

/** Two sizes that must read as different even when they round to the same figure (max vs max+1). */
function formatPair(a, b) {
  const [fa, fb] = [formatBytes(a), formatBytes(b)];
  if (fa !== fb || a === b) return [fa, fb];
  const exact = (n) => `${n.toLocaleString('en-US')} bytes`;
  return [exact(a), exact(b)];
}

/** @example formatDuration(75) // '1 min 15 s' */
export function formatDuration(seconds) {
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
export function isRetryable(code) {
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
export function describeError(code, error, file, allowance = null) {
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
