/** How the client PUTs bytes to the storage, per runtime. */
import { fetchPut } from './fetch-put.js';
import { isNode, nodePut } from './node-put.js';
import type { Put } from './put-watchdog.js';
import type { FetchLike } from './types.js';
import { xhrPut } from './xhr-put.js';

/**
 * XMLHttpRequest where it exists (browsers: upload progress), node:http in Node (its fetch holds a
 * streamed body in memory), fetch everywhere else, and always the caller's own `fetch` if given.
 */
export function storageTransport(fetchImpl: FetchLike, own: boolean): Put {
  if (typeof (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest === 'function') return xhrPut;
  if (!own && isNode()) return nodePut;
  return (request) => fetchPut(request, fetchImpl);
}
