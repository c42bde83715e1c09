import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryResumeStore, fingerprintOf, type ResumeState } from './resume.js';
import { createFileResumeStore } from './resume-file.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dropgate-resume-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const state = (uploadId: string, savedAt = new Date().toISOString()): ResumeState => ({
  uploadId,
  size: 100,
  partSize: 16,
  partCount: 7,
  savedAt,
});

describe('createFileResumeStore', () => {
  it('keeps entries across store instances (a new process), in a file it creates with its folder', async () => {
    const path = join(dir, 'nested', 'uploads.json');
    const first = createFileResumeStore(path);
    expect(await first.get('a')).toBeUndefined();
    await Promise.all([first.set('a', state('u1')), first.set('b', state('u2'))]);
    const second = createFileResumeStore(path);
    expect(await second.get('a')).toEqual(state('u1', (await second.get('a'))?.savedAt));
    expect((await second.get('b'))?.uploadId).toBe('u2');
    await second.delete('a');
    expect(await first.get('a')).toBeUndefined();
    expect(Object.keys(JSON.parse(await readFile(path, 'utf8')))).toEqual(['b']);
    expect((await readdir(join(dir, 'nested'))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('reads a damaged file as empty and drops entries older than 30 days on write', async () => {
    const path = join(dir, 'damaged.json');
    await writeFile(path, '{not json');
    const store = createFileResumeStore(path);
    expect(await store.get('x')).toBeUndefined();
    await writeFile(path, JSON.stringify({ old: state('u0', '2020-01-01T00:00:00Z') }));
    await store.set('new', state('u3'));
    expect(Object.keys(JSON.parse(await readFile(path, 'utf8')))).toEqual(['new']);
  });
});

describe('fingerprintOf / createMemoryResumeStore', () => {
  it('identifies a File by endpoint, route, name, size and date; a plain Blob only when told', () => {
    const file = new File(['abc'], 'a.mp4', { lastModified: 1000 });
    expect(fingerprintOf(file, { endpoint: '/api/upload' })).toBe('dropgate1|/api/upload||a.mp4|3|1000');
    expect(fingerprintOf(file, { endpoint: '/api/upload', route: 'videos' })).not.toBe(fingerprintOf(file, { endpoint: '/api/upload' }));
    expect(fingerprintOf(new Blob(['abc']), { endpoint: '/e' })).toBeUndefined();
    expect(fingerprintOf(new Blob(['abc']), { endpoint: '/e', fingerprint: '/tmp/a.mp4|1000' })).toBe('dropgate1|/e||/tmp/a.mp4|1000|3');
  });

  it('the memory store hands out copies', () => {
    const store = createMemoryResumeStore();
    store.set('k', state('u1'));
    const got = store.get('k') as ResumeState;
    got.uploadId = 'changed';
    expect((store.get('k') as ResumeState).uploadId).toBe('u1');
    store.delete('k');
    expect(store.size).toBe(0);
  });
});
