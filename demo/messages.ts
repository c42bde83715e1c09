/**
 * The demo's wording: human sentences from a DropgateError's code and details, progress and
 * allowance lines. No DOM here, so the wording can be read and tested on its own.
 */
import { formatBytes, type UploadProgress } from '../src/client/index.js';
import type { Allowance } from '../src/shared/protocol.js';

/** What the messages read of a thrown error: its `details` and `message`, when it has them. */
export interface ErrorLike {
  message?: string;
  details?: Record<string, unknown>;
}

/** Two sizes that must read as different even when they round to the same figure (max vs max+1). */
function formatPair(a: number, b: number): [string, string] {
  const [fa, fb] = [formatBytes(a), formatBytes(b)];
  if (fa !== fb || a === b) return [fa, fb];
  const exact = (n: number) => `${n.toLocaleString('en-US')} bytes`;
  return [exact(a), exact(b)];
}

/** @example formatDuration(75) // '1 min 15 s' */
export function formatDuration(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

const FRIENDLY_TYPES: Record<string, string> = { 'video/*': 'videos', 'image/*': 'images', 'audio/*': 'audio', 'application/pdf': 'PDFs' };

function listTypes(types: string[]): string {
  const names = types.map((t) => FRIENDLY_TYPES[t] ?? t);
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : (names[0] ?? '');
}

/** Seconds to wait, from whichever form the details carry (`retryAfter` seconds or `retryAfterMs`). */
function retryAfterSeconds(details: Record<string, unknown>): number | undefined {
  const seconds = Number(details.retryAfter ?? details.retryAfterSeconds ?? Number.NaN);
  if (Number.isFinite(seconds)) return seconds;
  const ms = Number(details.retryAfterMs ?? details.msBeforeNext ?? Number.NaN);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

const PERIOD_WORDS: Record<string, string> = { day: 'today', month: 'this month' };

/** Codes worth a Retry button: the same request may well succeed a bit later. */
export function isRetryable(code: string): boolean {
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
export function describeError(
  code: string,
  error: ErrorLike | undefined,
  file: { size: number; type: string },
  allowance: Allowance | null = null,
): string {
  const details: Record<string, unknown> = error?.details ?? {};
  switch (code) {
    case 'FILE_TOO_LARGE': {
      // The server planned a multipart upload that this client cannot do yet: its message says so.
      if (details.unsupported && error?.message) return error.message;
      const max = Number(details.maxBytes);
      if (!Number.isFinite(max)) return `This file is ${formatBytes(file.size)}, which is over the size limit.`;
      const [size, limit] = formatPair(file.size, max);
      return `This file is ${size}; the limit is ${limit}.`;
    }
    case 'FILE_TYPE_NOT_ALLOWED': {
      const type = String(details.contentType ?? file.type);
      if (details.extension && type)
        return `The name ends in .${details.extension}, but the file says it is ${type}. Rename it or pick another file.`;
      const allowed: string[] = Array.isArray(details.allowedTypes)
        ? details.allowedTypes
        : Array.isArray(details.allowed)
          ? details.allowed
          : [];
      const what = type ? `Files of type ${type}` : 'Files of an unknown type';
      return `${what} can't be uploaded here.${allowed.length ? ` You can upload ${listTypes(allowed)}.` : ''}`;
    }
    case 'QUOTA_EXCEEDED': {
      const remaining = Number(details.remainingBytes ?? allowance?.remainingBytes);
      const when = PERIOD_WORDS[String(details.period ?? allowance?.period)];
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

/** `12 MiB of 50 MiB · 24% · 8.1 MiB/s · 5 s left`, from the client's progress report. */
export function progressText({ loadedBytes, totalBytes, bytesPerSecond, etaSeconds }: UploadProgress): string {
  const percent = totalBytes > 0 ? Math.floor((loadedBytes / totalBytes) * 100) : 0;
  const parts = [`${formatBytes(loadedBytes)} of ${formatBytes(totalBytes)}`, `${percent}%`];
  if (bytesPerSecond > 0) parts.push(`${formatBytes(bytesPerSecond)}/s`);
  if (loadedBytes >= totalBytes) parts.push('checking…');
  else if (etaSeconds !== null) parts.push(`${formatDuration(etaSeconds)} left`);
  return parts.join(' · ');
}

/** `at 14:05`, `tomorrow at 00:00`, or a date: when an allowance resets. */
export function formatTime(iso: string, now = new Date()): string {
  const date = new Date(iso);
  const time = date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  const tomorrow = new Date(now);
  tomorrow.setDate(tomorrow.getDate() + 1);
  if (date.toDateString() === now.toDateString()) return `at ${time}`;
  if (date.toDateString() === tomorrow.toDateString()) return `tomorrow at ${time}`;
  return `on ${date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}`;
}

/** `3.2 GiB of 10 GiB left today · resets tomorrow at 00:00`. */
export function allowanceText(value: Allowance): string {
  const period = { day: ' today', month: ' this month', total: '' }[value.period] ?? '';
  const resets = value.resetsAt ? ` · resets ${formatTime(value.resetsAt)}` : '';
  return `${formatBytes(value.remainingBytes)} of ${formatBytes(value.limitBytes)} left${period}${resets}`;
}

/** A short badge: the name's extension, else the type's subtype (`mp4`, `png`, `pdf`). */
export function kindLabel(name: string, contentType: string): string {
  const extension = /\.([a-z0-9]{1,4})$/i.exec(name)?.[1];
  const subtype = contentType
    .split('/')[1]
    ?.split(/[.+;-]/)
    .pop();
  return (extension ?? subtype ?? 'file').slice(0, 4).toUpperCase();
}
