/**
 * Attacks that are about HTTP itself (chunked bodies, smuggled framing, preflights, oversized
 * bodies) run against the `dropgate dev` stack over a real loopback socket. node:http, not fetch:
 * fetch adds and normalises headers, and these tests need to say exactly what goes on the wire.
 */
import { access, readdir } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { type DevStack, startDevStack } from '../helpers/dev-stack.js';

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: Record<string, unknown>;
}

/** One request on its own connection; `chunks` are written one by one (chunked when no content-length is given). */
export function send(
  url: string,
  method: string,
  headers: Record<string, string> = {},
  ...chunks: (string | Uint8Array)[]
): Promise<Answer> {
  // node:http frames a DELETE or GET body only when told to; without framing the body would be
  // read as the next request on the connection.
  const framed = chunks.length > 0 && !Object.keys(headers).some((h) => /^(content-length|transfer-encoding)$/i.test(h));
  const sent = framed ? { ...headers, 'transfer-encoding': 'chunked' } : headers;
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method, headers: sent, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {}
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    request.on('error', reject);
    for (const chunk of chunks) request.write(chunk);
    request.end();
  });
}

/** Bytes written to a bare TCP socket, and the status line of whatever comes back. */
export function sendRaw(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname === 'localhost' ? '127.0.0.1' : hostname);
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('end', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer to a raw request; got ${JSON.stringify(answer)}`)));
    socket.write(bytes);
  });
}

export interface Live extends DevStack {
  /** The anonymous user of every loopback client. */
  user: string;
  /** Today's allowance bucket (the dev stack runs on the real clock). */
  period: string;
  sign(body: Record<string, unknown>, headers?: Record<string, string>): Promise<Answer>;
  objectExists(key: string): Promise<boolean>;
  scratch(): Promise<{ temp: string[]; multipart: string[] }>;
  ledgerOf(): Promise<{ usedBytes: number; reservedBytes: number; pending: number }>;
}

async function list(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

export async function startLive(options: Parameters<typeof startDevStack>[0] = {}): Promise<Live> {
  const dev = await startDevStack(options);
  const files = join(dev.dataDir, 'files');
  const user = 'ip:localhost';
  const period = new Date().toISOString().slice(0, 10);
  return {
    ...dev,
    user,
    period,
    sign: (body, headers = {}) => send(dev.endpoint, 'POST', { 'content-type': 'application/json', ...headers }, JSON.stringify(body)),
    objectExists: (key) =>
      access(join(files, 'objects', key)).then(
        () => true,
        () => false,
      ),
    scratch: async () => ({ temp: await list(join(files, '.tmp')), multipart: await list(join(files, '.multipart')) }),
    async ledgerOf() {
      const usage = await dev.stack.ledger.usage(user, 'default', period);
      return { ...usage, pending: await dev.stack.ledger.pendingCount(user, 'default') };
    },
  };
}
