import { abortedError, networkError, storageError } from './put-error.js';
import type { FetchLike, PutRequest, PutResult } from './types.js';

/**
 * The storage PUT where there is no XMLHttpRequest (Node, Deno, Bun, workers): `fetch` with the
 * Blob streamed through a counting stream, so a file-backed Blob (`fs.openAsBlob`) is read as it
 * is sent, never held in memory.
 *
 * A stream body has no length of its own, and without one fetch sends it chunked, which S3
 * refuses (411) and which the signature's exact length forbids. So `content-length` is always set
 * from the Blob: undici then sends a fixed-length body and fails the request itself if the stream
 * yields a byte more or less.
 *
 * @example
 * const body = await fs.openAsBlob('clip.mp4', { type: 'video/mp4' });
 * const { etag } = await fetchPut({ url: sign.presignedUrl, headers: sign.headers, body }, fetch);
 */
export async function fetchPut(request: PutRequest, fetchImpl: FetchLike): Promise<PutResult> {
  const { url, headers, body, signal, onProgress } = request;
  if (signal?.aborted) throw abortedError(signal.reason);
  let loaded = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      loaded += chunk.byteLength;
      onProgress?.(loaded);
      controller.enqueue(chunk);
    },
  });
  const sendHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== 'content-length') sendHeaders[name] = value;
  }
  sendHeaders['content-length'] = String(body.size);
  // `duplex` is required for a stream body and is not yet in TypeScript's RequestInit.
  const init: RequestInit & { duplex: 'half' } = {
    method: 'PUT',
    headers: sendHeaders,
    body: body.stream().pipeThrough(counter),
    duplex: 'half',
    ...(signal ? { signal } : {}),
  };

  let response: Response;
  try {
    response = await fetchImpl(url, init);
  } catch (error) {
    throw signal?.aborted ? abortedError(signal.reason) : networkError(error);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw signal?.aborted ? abortedError(signal.reason) : networkError(error);
  }
  if (!response.ok) throw storageError(response.status, text, response.headers.get('retry-after'));
  return { etag: response.headers.get('etag') ?? undefined };
}
