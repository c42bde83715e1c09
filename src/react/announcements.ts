/**
 * What a screen reader hears about uploads: a sentence when one starts, at each quarter of its
 * progress, when it completes, fails or is cancelled. Not every progress report: a polite live
 * region that changes twenty times a second says nothing useful.
 */
import { formatBytes } from '../client/index.js';
import type { UploadItem } from './upload-store.js';

/** One change worth telling, as `<UploadDropzone announce>` receives it. */
export type UploadAnnouncement =
  | { kind: 'started'; item: UploadItem }
  | { kind: 'progress'; item: UploadItem; percent: number }
  | { kind: 'completed'; item: UploadItem }
  | { kind: 'failed'; item: UploadItem }
  | { kind: 'aborted'; item: UploadItem }
  | { kind: 'rejected'; file: File; reason: string };

/**
 * The default wording; the error's code is included so it can be looked up.
 * @example describeAnnouncement({ kind: 'completed', item }) // 'clip.mp4 uploaded.'
 */
export function describeAnnouncement(event: UploadAnnouncement): string {
  switch (event.kind) {
    case 'started':
      return `Uploading ${event.item.name} (${formatBytes(event.item.file.size)}).`;
    case 'progress':
      return `${event.item.name}: ${event.percent}% uploaded.`;
    case 'completed':
      return `${event.item.name} uploaded.`;
    case 'aborted':
      return `Upload of ${event.item.name} cancelled.`;
    case 'failed':
      return `Upload of ${event.item.name} failed (${event.item.error?.code ?? 'INTERNAL_ERROR'}): ${event.item.error?.message ?? 'unknown error'}`;
    case 'rejected':
      return `${event.file.name} was not added: ${event.reason}`;
  }
}

/** What was last told about one item: its state and the last quarter announced. */
export interface Told {
  state: string;
  quarter: number;
}

/**
 * The announcements due between what was told (`told`, updated in place) and `items` now.
 * @example
 * const told = new Map();
 * changes(told, items).map(describeAnnouncement);
 */
export function changes(told: Map<string, Told>, items: readonly UploadItem[]): UploadAnnouncement[] {
  const due: UploadAnnouncement[] = [];
  for (const item of items) {
    const before = told.get(item.id);
    const ended = isEnd(item.state);
    const quarter = ended ? 4 : Math.floor(item.progress.progress * 4);
    // New, or started again after it ended (retry).
    const fresh = !before || (isEnd(before.state) && !ended);
    if (fresh) due.push({ kind: 'started', item });
    // Once every byte is sent only the server's check is left: the completion says the rest.
    else if (!ended && quarter > before.quarter && quarter > 0 && quarter < 4 && item.progress.loadedBytes < item.progress.totalBytes) {
      due.push({ kind: 'progress', item, percent: quarter * 25 });
    }
    if (ended && before?.state !== item.state) due.push({ kind: item.state as 'completed' | 'failed' | 'aborted', item });
    told.set(item.id, { state: item.state, quarter: fresh ? quarter : Math.max(quarter, before.quarter) });
  }
  const present = new Set(items.map((item) => item.id));
  for (const id of told.keys()) if (!present.has(id)) told.delete(id);
  return due;
}

const isEnd = (state: string) => state === 'completed' || state === 'failed' || state === 'aborted';
