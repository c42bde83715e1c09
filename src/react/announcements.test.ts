import { describe, expect, it } from 'vitest';
import { DropgateError } from '../client/index.js';
import { changes, describeAnnouncement, type Told } from './announcements.js';
import { matchesAccept } from './upload-dropzone.js';
import type { UploadItem } from './upload-store.js';

const file = new File([new Uint8Array(1000)], 'clip.mp4', { type: 'video/mp4' });
const item = (state: UploadItem['state'], progress = 0, error?: DropgateError): UploadItem => ({
  id: 'a',
  file,
  name: file.name,
  state,
  progress: { progress, loadedBytes: progress * 1000, totalBytes: 1000, bytesPerSecond: 0, etaSeconds: null },
  error,
  result: undefined,
  previewUrl: undefined,
});

describe('announcements', () => {
  it('tells a start, each quarter once, and the end; not every progress report', () => {
    const told = new Map<string, Told>();
    const said = (items: UploadItem[]) => changes(told, items).map(describeAnnouncement);
    expect(said([item('signing')])).toEqual(['Uploading clip.mp4 (1000 B).']);
    expect(said([item('uploading', 0.1)])).toEqual([]);
    expect(said([item('uploading', 0.26)])).toEqual(['clip.mp4: 25% uploaded.']);
    expect(said([item('uploading', 0.3)])).toEqual([]);
    expect(said([item('paused', 0.3)])).toEqual([]);
    expect(said([item('uploading', 0.8)])).toEqual(['clip.mp4: 75% uploaded.']);
  });

  it('says nothing of quarters once every byte is sent (a small file jumps there at once)', () => {
    const told = new Map<string, Told>();
    changes(told, [item('signing')]);
    const sent = item('uploading', 0.99);
    expect(changes(told, [{ ...sent, progress: { ...sent.progress, loadedBytes: 1000 } }])).toEqual([]);
  });

  it("names the server's code of a failure, and tells a retry as a new start", () => {
    const told = new Map<string, Told>();
    changes(told, [item('signing')]);
    const refused = new DropgateError('FILE_TYPE_NOT_ALLOWED', 'Files of type video/mp4 are not allowed.');
    expect(changes(told, [item('failed', 0, refused)]).map(describeAnnouncement)).toEqual([
      'Upload of clip.mp4 failed (FILE_TYPE_NOT_ALLOWED): Files of type video/mp4 are not allowed.',
    ]);
    expect(changes(told, [item('signing')]).map((e) => e.kind)).toEqual(['started']);
    expect(changes(told, [item('aborted', 0.1)]).map(describeAnnouncement)).toEqual(['Upload of clip.mp4 cancelled.']);
    changes(told, []);
    expect(told.size).toBe(0);
  });
});

describe('matchesAccept', () => {
  it('reads accept as browsers do: extensions, type/* and exact types', () => {
    expect(matchesAccept(file, undefined)).toBe(true);
    expect(matchesAccept(file, 'video/*')).toBe(true);
    expect(matchesAccept(file, 'image/*, .MP4')).toBe(true);
    expect(matchesAccept(file, 'video/mp4')).toBe(true);
    expect(matchesAccept(file, 'image/*,application/pdf,.mov')).toBe(false);
    expect(matchesAccept(file, 'video/mp')).toBe(false);
  });
});
