/**
 * The node:http adapter over a real socket: what the gateway sees of a request, and how its
 * answers are framed.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayRequest, GatewayResponse } from '../shared/http.js';
import { json } from '../shared/http.js';
import { toNodeHandler } from './node.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

/** Serves `handle` on a loopback port; resolves with its base URL. */
async function serve(handle: (request: GatewayRequest) => Promise<GatewayResponse>): Promise<string> {
  server = createServer(toNodeHandler({ handle }));
  await new Promise<void>((listening) => server!.listen(0, '127.0.0.1', listening));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

/** One request over node:http, so that the raw framing headers can be read. */
function send(url: string, method: string, headers: Record<string, string | string[]> = {}, body?: string) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('toNodeHandler', () => {
  it('answers a JSON body with its byte length, not chunked', async () => {
    const url = await serve(async () => json(200, { name: 'clip–été.mp4' }));
    const answer = await send(`${url}/api/upload`, 'POST');
    expect(answer.headers['transfer-encoding']).toBeUndefined();
    expect(answer.headers['content-length']).toBe(String(Buffer.byteLength(answer.body)));
    expect(JSON.parse(answer.body)).toEqual({ name: 'clip–été.mp4' });
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('keeps a Content-Length the handler set, and a HEAD answer has no body', async () => {
    const url = await serve(async (request) =>
      request.method === 'HEAD'
        ? { status: 200, headers: { 'content-length': '11' } }
        : { status: 200, headers: { 'content-length': '11' }, body: 'hello world' },
    );
    const get = await send(url, 'GET');
    expect([get.headers['content-length'], get.body]).toEqual(['11', 'hello world']);
    const head = await send(url, 'HEAD');
    expect([head.headers['content-length'], head.body]).toEqual(['11', '']);
  });

  it('gives the gateway the path, the query, the headers and the body once', async () => {
    let seen: Record<string, unknown> = {};
    const url = await serve(async (request) => {
      const text = await request.text(1024);
      let again = '';
      try {
        await request.text(1024);
      } catch (error) {
        again = (error as Error).message;
      }
      seen = {
        method: request.method,
        pathname: request.pathname,
        route: request.searchParams.get('route'),
        limit: request.searchParams.get('limit'),
        type: request.header('Content-Type'),
        forwarded: request.header('x-forwarded-for'),
        missing: request.header('origin'),
        remoteAddress: request.remoteAddress,
        text,
        again,
      };
      return json(200, {});
    });
    await send(
      `${url}/api/upload?route=avatars&limit=5`,
      'POST',
      { 'content-type': 'application/json', 'x-forwarded-for': ['1.1.1.1', '2.2.2.2'] },
      '{"a":1}',
    );
    expect(seen).toEqual({
      method: 'POST',
      pathname: '/api/upload',
      route: 'avatars',
      limit: '5',
      type: 'application/json',
      forwarded: '1.1.1.1, 2.2.2.2',
      missing: undefined,
      remoteAddress: '127.0.0.1',
      text: '{"a":1}',
      again: 'The request body was already read.',
    });
  });

  it('refuses a body over the limit with REQUEST_TOO_LARGE', async () => {
    let code = '';
    const url = await serve(async (request) => {
      try {
        await request.text(8);
      } catch (error) {
        code = (error as { code: string }).code;
      }
      return json(413, {});
    });
    expect((await send(url, 'POST', { 'transfer-encoding': 'chunked' }, 'x'.repeat(100))).status).toBe(413);
    expect(code).toBe('REQUEST_TOO_LARGE');
  });
});
