import { describe, expect, it } from 'vitest';
import { DropgateError } from '../shared/errors.js';
import { progressBar } from './progress-bar.js';
import { contentTypeFor, jsonLine, progressLine } from './upload.js';

describe('contentTypeFor', () => {
  it('reads the extension, case-insensitively, and falls back to octet-stream', () => {
    expect(contentTypeFor('clips/Intro.MP4')).toBe('video/mp4');
    expect(contentTypeFor('/tmp/photo.jpeg')).toBe('image/jpeg');
    expect(contentTypeFor('report.pdf')).toBe('application/pdf');
    expect(contentTypeFor('Makefile')).toBe('application/octet-stream');
    expect(contentTypeFor('.mp4')).toBe('application/octet-stream');
    expect(contentTypeFor('archive.tar.xz')).toBe('application/octet-stream');
  });
});

describe('progressLine', () => {
  it('shows percent, bytes, speed and ETA', () => {
    const line = progressLine('a.mp4', {
      progress: 0.426,
      loadedBytes: 1363148,
      totalBytes: 3145728,
      bytesPerSecond: 2202009,
      etaSeconds: 0.81,
    });
    expect(line).toBe('a.mp4   42%  1.3 MiB / 3.0 MiB  2.1 MiB/s  ETA 1s');
  });

  it('puts a bar of full cells only between the name and the numbers when asked', () => {
    const p = { progress: 0.426, loadedBytes: 1363148, totalBytes: 3145728, bytesPerSecond: 0, etaSeconds: null };
    expect(progressLine('a.mp4', p, 20)).toBe('a.mp4  [########------------]   42%  1.3 MiB / 3.0 MiB');
    expect(progressBar(0.999, 10)).toBe('[#########-]');
    expect(progressBar(1, 10)).toBe('[##########]');
    expect(progressBar(0, 4)).toBe('[----]');
  });

  it('leaves out what is not known yet, and the ETA once done', () => {
    expect(progressLine('a', { progress: 0, loadedBytes: 0, totalBytes: 10, bytesPerSecond: 0, etaSeconds: null })).toBe(
      'a    0%  0 B / 10 B',
    );
    expect(progressLine('a', { progress: 1, loadedBytes: 10, totalBytes: 10, bytesPerSecond: 20, etaSeconds: 0 })).toBe(
      'a  100%  10 B / 10 B  20 B/s',
    );
  });
});

describe('jsonLine', () => {
  it('prints exactly the documented file fields', () => {
    const file = { id: 'u1', key: 'default/x.mp4', size: 3, contentType: 'video/mp4', url: 'http://h/x.mp4', name: 'a.mp4', metadata: {} };
    expect(JSON.parse(jsonLine({ path: 'a.mp4', file }))).toEqual({
      file: { id: 'u1', key: 'default/x.mp4', size: 3, contentType: 'video/mp4', url: 'http://h/x.mp4' },
      path: 'a.mp4',
    });
  });

  it('prints an error with its code and message, without details', () => {
    const error = new DropgateError('FILE_TOO_LARGE', 'Too big.', { maxBytes: 1 });
    expect(JSON.parse(jsonLine({ path: 'b.mp4', error }))).toEqual({
      error: { code: 'FILE_TOO_LARGE', message: 'Too big.' },
      path: 'b.mp4',
    });
  });
});
