/**
 * Serves the demo page of `dropgate dev`: `demo/` at `/` and the browser bundle at `/client.js`.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { GatewayRequest, GatewayResponse } from '../shared/http.js';

const root = new URL('../../', import.meta.url);

const FILES: Record<string, { path: string; type: string }> = {
  '/': { path: 'demo/index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { path: 'demo/index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { path: 'demo/app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { path: 'demo/style.css', type: 'text/css; charset=utf-8' },
  '/client.js': { path: 'dist/demo/client.js', type: 'text/javascript; charset=utf-8' },
  '/client.js.map': { path: 'dist/demo/client.js.map', type: 'application/json' },
};

export async function serveDemo(request: GatewayRequest): Promise<GatewayResponse | undefined> {
  if (request.pathname === '/healthz') return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' };
  const file = FILES[request.pathname];
  if (!file || (request.method !== 'GET' && request.method !== 'HEAD')) return undefined;
  try {
    const body = await readFile(fileURLToPath(new URL(file.path, root)));
    return {
      status: 200,
      headers: { 'content-type': file.type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' },
      body: request.method === 'HEAD' ? '' : body,
    };
  } catch {
    return { status: 404, headers: { 'content-type': 'text/plain' }, body: `${file.path} is missing; run npm run build.` };
  }
}
