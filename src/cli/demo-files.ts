/**
 * Serves the demo page of `dropgate dev`: `demo/index.html` at `/`, its stylesheet, and the React
 * app bundled from `demo/app.tsx` (scripts/build-demo.js) at `/app.js`.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { GatewayRequest, GatewayResponse } from '../shared/http.js';

const root = new URL('../../', import.meta.url);

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json',
};

/** `/`, the bundle, and `demo/*.css` by plain names only (no dots or slashes to climb out). */
function fileFor(pathname: string): string | undefined {
  if (pathname === '/' || pathname === '/index.html') return 'demo/index.html';
  if (pathname === '/app.js' || pathname === '/app.js.map') return `dist/demo${pathname}`;
  return /^\/[a-z0-9-]+\.css$/.test(pathname) ? `demo${pathname}` : undefined;
}

export async function serveDemo(request: GatewayRequest): Promise<GatewayResponse | undefined> {
  if (request.pathname === '/healthz') return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' };
  const path = fileFor(request.pathname);
  if (!path || (request.method !== 'GET' && request.method !== 'HEAD')) return undefined;
  try {
    const body = await readFile(fileURLToPath(new URL(path, root)));
    return {
      status: 200,
      headers: {
        'content-type': TYPES[path.slice(path.lastIndexOf('.') + 1)] ?? 'application/octet-stream',
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
      },
      body: request.method === 'HEAD' ? '' : body,
    };
  } catch {
    return { status: 404, headers: { 'content-type': 'text/plain' }, body: `${path} is missing; run npm run build.` };
  }
}
