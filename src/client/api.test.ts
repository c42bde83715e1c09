import { describe, expect, it } from 'vitest';
import { apiUrl, callApi, resolveUrl } from './api.js';
import type { FetchLike } from './types.js';

/** A fetch that answers one fixed response and records what it was asked. */
function answering(status: number, body: string) {
  const calls: { url: string; init: RequestInit | undefined }[] = [];
  const fetchImpl: FetchLike = async (url, init) => {
    calls.push({ url, init });
    return new Response(body, { status, headers: { 'content-type': 'application/json' } });
  };
  return { fetchImpl, calls };
}

describe('callApi', () => {
  it('sends JSON with the caller’s headers and returns the parsed answer', async () => {
    const { fetchImpl, calls } = answering(200, '{"ok":true}');
    const answer = await callApi(fetchImpl, {
      method: 'POST',
      url: '/api/upload',
      headers: { authorization: 'Bearer k' },
      body: { size: 1 },
    });
    expect(answer).toEqual({ ok: true });
    expect(calls[0]?.init).toMatchObject({
      method: 'POST',
      body: '{"size":1}',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
    });
  });

  it('rebuilds the server’s typed error with its details', async () => {
    const { fetchImpl } = answering(
      413,
      JSON.stringify({ error: { code: 'FILE_TOO_LARGE', message: 'Over 200 MiB.', maxBytes: 209715200 } }),
    );
    await expect(callApi(fetchImpl, { method: 'POST', url: '/x', body: {} })).rejects.toMatchObject({
      name: 'DropgateError',
      code: 'FILE_TOO_LARGE',
      status: 413,
      message: 'Over 200 MiB.',
      details: { maxBytes: 209715200 },
    });
  });

  it('maps a non-JSON failure (a proxy page) by its status', async () => {
    const { fetchImpl } = answering(502, '<html>Bad Gateway</html>');
    await expect(callApi(fetchImpl, { method: 'GET', url: '/x' })).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
  });

  it('reports an unreachable API as NETWORK_ERROR and an aborted call as UPLOAD_ABORTED', async () => {
    const refusing: FetchLike = async () => {
      throw new TypeError('fetch failed');
    };
    await expect(callApi(refusing, { method: 'GET', url: 'http://127.0.0.1:9/x' })).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
    const controller = new AbortController();
    controller.abort();
    await expect(callApi(refusing, { method: 'GET', url: '/x', signal: controller.signal })).rejects.toMatchObject({
      code: 'UPLOAD_ABORTED',
    });
  });
});

describe('apiUrl / resolveUrl', () => {
  it('joins segments onto the base, encoded, ignoring a trailing slash', () => {
    expect(apiUrl('/api/upload/')).toBe('/api/upload');
    expect(apiUrl('http://h/api/upload', 'a b/c', 'complete')).toBe('http://h/api/upload/a%20b%2Fc/complete');
  });

  it('resolves relative storage URLs against an absolute endpoint', () => {
    expect(resolveUrl('/api/upload/_disk/t', 'http://127.0.0.1:3000/api/upload')).toBe('http://127.0.0.1:3000/api/upload/_disk/t');
    expect(resolveUrl('https://bucket.s3/k?X-Amz-Signature=1', 'http://h/api/upload')).toBe('https://bucket.s3/k?X-Amz-Signature=1');
    // No page and a relative endpoint (Node): left for fetch to judge.
    expect(resolveUrl('/x', '/api/upload')).toBe('/x');
  });
});
