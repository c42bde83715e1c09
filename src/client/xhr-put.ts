import { abortedError, networkError, storageError } from './put-error.js';
import type { PutRequest, PutResult } from './types.js';

/** Headers the browser sets itself and refuses from scripts; the Blob gives the same length. */
const BROWSER_OWNED = new Set(['content-length', 'host', 'connection']);

/**
 * The storage PUT in browsers: XMLHttpRequest, because it is the one browser API that reports
 * upload progress over HTTP/1.1. Only 2xx counts as success.
 *
 * @example
 * await xhrPut({ url: sign.presignedUrl, headers: sign.headers, body: file, onProgress: (n) => console.log(n) });
 */
export function xhrPut(request: PutRequest): Promise<PutResult> {
  const { url, headers, body, signal, onProgress } = request;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortedError(signal.reason));
      return;
    }
    const xhr = new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    const settle = (error?: Error) => {
      signal?.removeEventListener('abort', onAbort);
      // Readable only when the storage's CORS rules expose ETag; complete then asks ListParts instead.
      if (error) reject(error);
      else resolve({ etag: xhr.getResponseHeader('etag') ?? undefined });
    };

    xhr.open('PUT', url);
    for (const [name, value] of Object.entries(headers)) {
      if (!BROWSER_OWNED.has(name.toLowerCase())) xhr.setRequestHeader(name, value);
    }
    xhr.upload.onprogress = (event) => onProgress?.(event.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) settle();
      else settle(storageError(xhr.status, xhr.responseText, xhr.getResponseHeader('retry-after')));
    };
    xhr.onerror = () => settle(networkError());
    xhr.ontimeout = () => settle(networkError());
    xhr.onabort = () => settle(abortedError(signal?.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
    xhr.send(body);
  });
}
