/**
 * Issue 6, attack 4 on the disk store: unsigned headers on a presigned PUT have no effect. Run
 * twice: through a real socket with fetch (exactly how the S3 suite will run the same table on
 * RGW), and through `gateway.handle`, where the receiver is mounted in production.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dropgate } from '../../src/server/gateway.js';
import { type DiskServer, startDiskServer } from '../../src/storage/disk-fixtures.contract.js';
import { type Send, sendWithFetch } from '../../src/storage/storage.contract.js';
import { gatewayRequest } from '../helpers/requests.js';
import { checkSmuggledHeader, SMUGGLED_HEADERS } from './header-smuggling.cases.js';
import { STACKS, useStack } from './stack.js';

/** `Send` through the gateway's handler instead of the network. */
function sendThrough(gateway: Dropgate): Send {
  return async (request, body, extra = {}) => {
    const headers: Record<string, string> = { ...request.headers };
    for (const [name, value] of Object.entries(extra)) {
      if (value === null) delete headers[name];
      else headers[name] = value;
    }
    const url = new URL(request.url);
    const response = await gateway.handle(gatewayRequest(request.method, url.pathname + url.search, { body: body ?? '', headers }));
    const chunks: Uint8Array[] = [];
    const raw = response.body;
    if (typeof raw === 'string' || raw instanceof Uint8Array) chunks.push(Buffer.from(raw));
    else if (raw) for await (const chunk of raw) chunks.push(chunk);
    return { status: response.status, headers: new Headers(response.headers), body: Buffer.concat(chunks) };
  };
}

describe('header smuggling on the disk store over a socket', () => {
  let server: DiskServer;
  beforeAll(async () => {
    server = await startDiskServer();
  });
  afterAll(() => server.close());

  it.each(SMUGGLED_HEADERS)('$name has no effect', async (smuggle) => {
    // The disk store ignores every header it did not sign: none of them is even refused.
    expect(await checkSmuggledHeader({ storage: server.storage, send: sendWithFetch }, smuggle)).toBe('ignored');
  });
});

describe.each(STACKS)('header smuggling through the gateway on $name', (factory) => {
  const stack = useStack(factory);

  it.each(SMUGGLED_HEADERS)('$name has no effect', async (smuggle) => {
    const s = stack();
    const verdict = await checkSmuggledHeader({ storage: s.storage, send: sendThrough(s.gateway) }, smuggle);
    expect(['refused', 'ignored']).toContain(verdict);
    expect(await s.scratch()).toEqual({ temp: [], multipart: [] });
  });
});
