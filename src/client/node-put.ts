/**
 * The storage PUT in Node: node:http(s), loaded on first use so browser bundles never see it.
 * Not fetch, because Node's fetch (undici, nodejs/undici#4058) keeps every chunk of a streamed
 * request body in memory until the request ends: four 16 MiB parts in flight cost 64 MiB, a
 * 100 MiB single PUT 100 MiB. Here each chunk is written with the socket's backpressure and
 * dropped, so memory stays flat whatever the size.
 */
import { type ChunkReader, rangeReaderOf, readerOf } from './node-file.js';
import { abortedError, networkError, storageError } from './put-error.js';
import type { PutRequest, PutResult } from './types.js';

interface NodeResponse {
  statusCode?: number;
  headers: Record<string, string | string[] | undefined>;
  setEncoding(encoding: 'utf8'): void;
  on(event: 'data', listener: (chunk: string) => void): void;
  on(event: 'end' | 'error' | 'aborted', listener: (error?: Error) => void): void;
}
interface NodeRequest {
  write(chunk: Uint8Array, callback?: (error?: Error | null) => void): boolean;
  end(): void;
  destroy(error?: Error): void;
  once(event: 'drain' | 'close', listener: () => void): void;
  on(event: 'response', listener: (response: NodeResponse) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
}
type NodeHttp = { request(url: URL, options: { method: string; headers: Record<string, string> }): NodeRequest };

const modules = new Map<string, Promise<NodeHttp>>();
function load(protocol: string): Promise<NodeHttp> {
  const specifier = protocol === 'https:' ? 'node:https' : 'node:http';
  let module = modules.get(specifier);
  if (!module) {
    module = import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<NodeHttp>;
    modules.set(specifier, module);
  }
  return module;
}

/** True in Node (not Deno or Bun, whose fetch streams request bodies as it should). */
export function isNode(): boolean {
  const g = globalThis as { process?: { versions?: { node?: string; bun?: string } }; Deno?: unknown };
  return typeof g.process?.versions?.node === 'string' && g.process.versions.bun === undefined && g.Deno === undefined;
}

/** Bytes read from a file per write. */
const CHUNK_BYTES = 1024 * 1024;

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/**
 * @example
 * const blob = await fs.openAsBlob('clip.mp4', { type: 'video/mp4' });
 * const { etag } = await nodePut({ url, headers: signed.headers, body: blob.slice(0, 16 * 1024 * 1024) });
 */
export async function nodePut(request: PutRequest): Promise<PutResult> {
  const { headers, body, signal, onProgress } = request;
  if (signal?.aborted) throw abortedError(signal.reason);
  const url = new URL(request.url);
  const http = await load(url.protocol);
  const sendHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() !== 'content-length') sendHeaders[name] = value;
  // The Blob's size, never chunked: the signature binds the exact length, and S3 refuses chunked PUTs.
  sendHeaders['content-length'] = String(body.size);

  return new Promise<PutResult>((resolve, reject) => {
    let settled = false;
    let loaded = 0;
    let ended = false;
    const end = () => {
      if (!ended) req.end();
      ended = true;
    };
    const settle = (error: Error | undefined, result?: PutResult) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(result as PutResult);
    };
    const req = http.request(url, { method: 'PUT', headers: sendHeaders });
    const onAbort = () => {
      settle(abortedError(signal?.reason));
      req.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (error) => settle(signal?.aborted ? abortedError(signal.reason) : networkError(error)));
    req.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => {
        if (text.length < 64 * 1024) text += chunk; // an error body is small; never hold a large one
      });
      response.on('error', (error) => settle(networkError(error)));
      response.on('aborted', () => settle(networkError()));
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        if (status >= 200 && status < 300) settle(undefined, { etag: header(response.headers.etag) });
        else settle(storageError(status, text, header(response.headers['retry-after'])));
        // The storage may answer as soon as it has every byte, before the reader below has said it
        // is done: the request still has to end, or its socket stays taken (and keeps the process
        // alive until the store drops it: 65 s on Ceph RGW). Answered before the whole body went,
        // the connection cannot carry another request: drop it.
        if (loaded === body.size) end();
        else req.destroy();
      });
    });

    // Written by hand rather than piped: each chunk waits for the socket to drain, and a refusal
    // or an abort stops the reading at once.
    let wake: (() => void) | undefined;
    let freed: (() => void) | undefined;
    let closed = false;
    req.once('close', () => {
      closed = true;
      wake?.();
      freed?.();
    });
    const drained = () =>
      new Promise<void>((resolve) => {
        wake = resolve;
        req.once('drain', resolve);
      });
    const sent = (bytes: number) => {
      loaded += bytes;
      onProgress?.(loaded);
    };
    (async () => {
      const direct = await rangeReaderOf(body).catch(() => undefined);
      let reader: ChunkReader | undefined;
      try {
        if (direct) {
          // A file is read into two buffers in turn, the next read running while the socket takes
          // the last one; a buffer is read into again only once the socket has all of its bytes.
          // 1 GiB sent no longer allocates 1,024 buffers of 1 MiB for the GC to reclaim.
          const idle = [new Uint8Array(CHUNK_BYTES), new Uint8Array(CHUNK_BYTES)];
          const readNext = async () => {
            while (idle.length === 0 && !closed) await new Promise<void>((resolve) => (freed = resolve));
            const buffer = idle.pop();
            return buffer && { buffer, bytes: await direct.readInto(buffer) };
          };
          let next = readNext();
          while (loaded < body.size) {
            next.catch(() => undefined); // awaited below, unless the request ends first
            const chunk = await next;
            if (!chunk || settled) return;
            sent(chunk.bytes);
            const more = req.write(chunk.buffer.subarray(0, chunk.bytes), () => {
              idle.push(chunk.buffer);
              freed?.();
            });
            if (loaded < body.size) next = readNext();
            if (!more) await drained();
          }
        } else {
          reader = await readerOf(body);
          for (;;) {
            const { done, value } = await reader.read();
            if (settled) return;
            if (done) break;
            sent(value.byteLength);
            if (!req.write(value)) await drained();
          }
        }
        end();
      } catch (error) {
        settle(networkError(error));
        req.destroy();
      } finally {
        direct?.close().catch(() => undefined);
        reader?.cancel().catch(() => undefined);
      }
    })();
  });
}
