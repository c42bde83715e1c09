/**
 * A plain node:http server on a loopback port for one test file, answering with whatever handler
 * the test sets last, and a temp folder for the files it sends. Transport tests use it to see
 * exactly what goes over the wire.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

export type Respond = (req: IncomingMessage, res: ServerResponse) => void;

/** @example const wire = useLoopbackServer('dropgate-put-'); wire.respond = (req, res) => res.end(); */
export function useLoopbackServer(tempPrefix: string) {
  let server: Server | undefined;
  const state = { base: '', dir: '', respond: ((_req, res) => res.writeHead(500).end()) as Respond };
  beforeAll(async () => {
    state.dir = await mkdtemp(join(tmpdir(), tempPrefix));
    const started = createServer((req, res) => state.respond(req, res));
    await new Promise<void>((resolve) => started.listen(0, '127.0.0.1', resolve));
    state.base = `http://127.0.0.1:${(started.address() as AddressInfo).port}`;
    server = started;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    if (state.dir) await rm(state.dir, { recursive: true, force: true });
  });
  return state;
}
