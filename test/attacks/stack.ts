/**
 * The stacks each attack runs against, and the "nothing left behind" checks every attack ends with.
 *
 * - disk + PGlite: the embedded defaults of `dropgate dev`, PUTs included, through `gateway.handle`;
 * - S3 (Ceph RGW) + PostgreSQL (s3-stack.ts): what a scaled-out deployment runs, PUTs over a real
 *   socket to RGW. It needs RGW and PostgreSQL: in CI their absence fails every attack file;
 *   locally the stack is left out with the reason printed.
 *
 * The attacks only use `AttackStack`. Where a defence differs by store, the stack says how its
 * store refuses (`refusal`) and the attack asserts that; `store` names the few cases that differ.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import type { DropgateOptions } from '../../src/server/config.js';
import type { Dropgate } from '../../src/server/gateway.js';
import type { GatewayResponse } from '../../src/shared/http.js';
import type { SignResponse } from '../../src/shared/protocol.js';
import type { DiskStorage } from '../../src/storage/disk.js';
import type { Send } from '../../src/storage/storage.contract.js';
import { createHarness, type Harness } from '../helpers/harness.js';
import { bodyOf, gatewayRequest } from '../helpers/requests.js';
import { requireRgw } from '../helpers/rgw.js';
import { postgresProblem, requireService } from '../helpers/services.js';
import { s3Stack } from './s3-stack.js';

/** The allowance bucket of the harness clock's first day (reservations keep it after the clock moves). */
export const PERIOD = '2026-11-24';

/** Why a store refuses a presigned PUT. */
export type Refusal = 'size-mismatch' | 'wrong-content-type' | 'token-used';

export interface AttackStack extends Harness {
  store: 'disk' | 's3';
  /** Sends a presigned request (a part, a signed read) to wherever its store answers it. */
  send: Send;
  /**
   * Leftovers: bytes being received or stored that no upload accounts for (`temp`), and
   * unfinished multipart uploads or their parts (`multipart`).
   */
  scratch(): Promise<{ temp: string[]; multipart: string[] }>;
  /** PUTs `bytes` to a sign answer's URL and hangs up after `cutAfter` of them; the status, if any came. */
  putCutOff(signed: Partial<SignResponse>, bytes: Uint8Array, cutAfter: number): Promise<number | undefined>;
  /** How this store answers a refusal: the status, and the reason (disk) or S3 error code (S3). */
  refusal(reason: Refusal): { status: number; code: string };
}

export interface StackFactory {
  name: string;
  store: AttackStack['store'];
  create(overrides?: Partial<DropgateOptions>): Promise<AttackStack>;
}

async function list(dir: string): Promise<string[]> {
  return readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
}

/** `Send` through the gateway's handler instead of the network (the disk store's receiver is mounted there). */
export function sendThrough(gateway: Dropgate): Send {
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

const DISK_REFUSALS: Record<Refusal, { status: number; code: string }> = {
  'size-mismatch': { status: 400, code: 'size-mismatch' },
  'wrong-content-type': { status: 403, code: 'wrong-content-type' },
  'token-used': { status: 403, code: 'token-used' },
};

export const diskStack: StackFactory = {
  name: 'disk + PGlite',
  store: 'disk',
  async create(overrides) {
    const harness = await createHarness(overrides);
    const { directory } = harness.storage as DiskStorage;
    return {
      ...harness,
      store: 'disk',
      send: sendThrough(harness.gateway),
      scratch: async () => ({ temp: await list(join(directory, '.tmp')), multipart: await list(join(directory, '.multipart')) }),
      async putCutOff(signed, bytes, cutAfter) {
        const url = new URL(String(signed.presignedUrl));
        const request = gatewayRequest('PUT', url.pathname + url.search, { headers: signed.headers ?? {} });
        request.body = async function* () {
          yield bytes.subarray(0, cutAfter);
          throw new Error('client hung up');
        };
        return (await harness.gateway.handle(request)).status;
      },
      refusal: (reason) => DISK_REFUSALS[reason],
    };
  },
};

async function availableStacks(): Promise<StackFactory[]> {
  const rgw = await requireRgw();
  const pg = await requireService('PostgreSQL', postgresProblem);
  return rgw && pg ? [diskStack, s3Stack(rgw)] : [diskStack];
}

/** Every stack the attacks run on. */
export const STACKS: StackFactory[] = await availableStacks();

/**
 * One stack for the enclosing describe block (starting one costs a PGlite clone): tests keep apart
 * by each using users of their own (`newUser()`), which is what the ledger checks are keyed on.
 */
export function useStack(factory: StackFactory, overrides?: Partial<DropgateOptions>): () => AttackStack {
  let stack: AttackStack | undefined;
  beforeAll(async () => {
    stack = await factory.create(overrides);
  });
  afterAll(() => stack?.close());
  return () => {
    if (!stack) throw new Error('The stack starts in beforeAll; use it inside tests.');
    return stack;
  };
}

let users = 0;
/** A user no other test has touched. */
export const newUser = (): string => `user-${++users}`;

/** The error code of a JSON error answer. */
export function codeOf(json: Record<string, unknown>): string | undefined {
  return (json.error as { code?: string } | undefined)?.code;
}

/** What the ledger must hold for a user on the default route. */
export async function expectLedger(
  s: AttackStack,
  user: string,
  expected: { usedBytes: number; reservedBytes: number; pending: number },
): Promise<void> {
  const usage = await s.ledger.usage(user, 'default', PERIOD);
  const pending = await s.ledger.pendingCount(user, 'default');
  expect({ ...usage, pending }, `ledger of ${user}`).toEqual(expected);
}

/** Asserts that the stack's store refused a presigned PUT for `reason`, and said so in its own words. */
export async function expectRefused(s: AttackStack, response: GatewayResponse, reason: Refusal): Promise<void> {
  const text = await bodyOf(response);
  let code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
  if (code === undefined) {
    try {
      code = (JSON.parse(text) as { error?: { reason?: string } }).error?.reason;
    } catch {}
  }
  expect({ status: response.status, code }, `refusal for ${reason}: ${text.slice(0, 300)}`).toEqual(s.refusal(reason));
}

/** No object at any of the keys, and no temp file or multipart part anywhere in the store. */
export async function expectNothingStored(s: AttackStack, ...keys: string[]): Promise<void> {
  for (const key of keys) expect(await s.storage.head(key), `object at ${key}`).toBeUndefined();
  expect(await s.scratch()).toEqual({ temp: [], multipart: [] });
}
