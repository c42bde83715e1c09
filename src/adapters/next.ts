/**
 * Next.js App Router adapter. In `app/api/upload/[[...path]]/route.ts`:
 *
 * @example
 * import { gateway } from '@/lib/dropgate';
 * export const { GET, POST, PUT, DELETE, OPTIONS } = toNextHandlers(gateway);
 */
import { type FetchAdapterOptions, type GatewayHandler, toFetchHandler } from './fetch.js';

export function toNextHandlers(gateway: GatewayHandler, options: FetchAdapterOptions = {}) {
  // Next.js does not expose the TCP peer; behind a proxy, set `trustProxy` so the gateway reads
  // X-Forwarded-For, or pass `remoteAddress`.
  const handler = toFetchHandler(gateway, options);
  return { GET: handler, HEAD: handler, POST: handler, PUT: handler, DELETE: handler, OPTIONS: handler };
}
