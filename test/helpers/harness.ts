/**
 * A gateway on the real disk store and an in-memory PGlite ledger, driven without a network:
 * every call, the disk PUTs included, goes through `gateway.handle`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pgliteDriver } from '../../src/ledger/pglite.js';
import { createSqlLedger } from '../../src/ledger/sql-ledger.js';
import type { Ledger } from '../../src/ledger/types.js';
import type { DropgateOptions, LogEntry } from '../../src/server/config.js';
import { createDropgate, type Dropgate } from '../../src/server/gateway.js';
import type { GatewayResponse } from '../../src/shared/http.js';
import type { SignResponse } from '../../src/shared/protocol.js';
import { createDiskStorage } from '../../src/storage/disk.js';
import type { Storage } from '../../src/storage/types.js';
import { gatewayRequest, jsonOf } from './requests.js';

export const ORIGIN = 'http://localhost:3000';
export const BASE = '/api/upload';

export interface Harness {
  gateway: Dropgate;
  ledger: Ledger;
  storage: Storage;
  logs: LogEntry[];
  /** Advances the harness clock. */
  clock: { now: Date; advance(seconds: number): void };
  call(
    method: string,
    path: string,
    init?: { json?: unknown; body?: string | Uint8Array; headers?: Record<string, string>; user?: string; ip?: string },
  ): Promise<GatewayResponse>;
  sign(body: Record<string, unknown>, user?: string): Promise<{ status: number; json: Record<string, unknown> & Partial<SignResponse> }>;
  /** PUTs bytes to a sign answer's URL (the disk receiver), with its signed headers unless overridden. */
  put(signed: Partial<SignResponse>, bytes: Uint8Array, headers?: Record<string, string>): Promise<GatewayResponse>;
  complete(id: string, user?: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
  close(): Promise<void>;
}

// Starting PGlite takes seconds; cloning a started, migrated one takes a fraction.
let template: Promise<PGlite> | undefined;
async function freshLedger(): Promise<Ledger> {
  template ??= PGlite.create().then(async (db) => {
    await createSqlLedger(pgliteDriver(db)).migrate();
    return db;
  });
  return createSqlLedger(pgliteDriver(await (await template).clone()));
}

/** Other parts for the harness: a store and a ledger instead of the disk store and a PGlite clone. */
export interface HarnessParts {
  storage?: Storage;
  ledger?: Ledger;
}

/** Users are named by the `x-test-user` header; no header, no user. */
export async function createHarness(overrides: Partial<DropgateOptions> = {}, parts: HarnessParts = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'dropgate-harness-'));
  const ledger = parts.ledger ?? (await freshLedger());
  const clock = {
    now: new Date('2026-11-24T12:00:00Z'),
    advance(seconds: number) {
      this.now = new Date(this.now.getTime() + seconds * 1000);
    },
  };
  const now = () => clock.now;
  const storage =
    parts.storage ??
    createDiskStorage({
      directory: join(dir, 'files'),
      secret: 'test-secret-0123456789abcdef0123456789',
      baseUrl: `${ORIGIN}${BASE}/_disk`,
      now,
    });
  const logs: LogEntry[] = [];
  const gateway = createDropgate({
    storage,
    ledger,
    publicUrl: ORIGIN,
    authenticate: (req) => {
      const user = req.header('x-test-user');
      return user ? { userId: user } : null;
    },
    log: (entry) => logs.push(entry),
    now,
    ...overrides,
  });
  const call: Harness['call'] = (method, path, init = {}) => {
    const headers = { ...(init.user ? { 'x-test-user': init.user } : {}), ...init.headers };
    return gateway.handle(gatewayRequest(method, path, { ...init, headers }));
  };
  const harness: Harness = {
    gateway,
    ledger,
    storage,
    logs,
    clock,
    call,
    async sign(body, user = 'alice') {
      const response = await call('POST', BASE, { json: body, user });
      return { status: response.status, json: await jsonOf(response) };
    },
    put(signed, bytes, headers) {
      const url = new URL(signed.presignedUrl ?? '');
      return gateway.handle(gatewayRequest('PUT', url.pathname + url.search, { body: bytes, headers: headers ?? signed.headers ?? {} }));
    },
    async complete(id, user = 'alice', body = {}) {
      const response = await call('POST', `${BASE}/${id}/complete`, { json: body, user });
      return { status: response.status, json: await jsonOf(response) };
    },
    async close() {
      await ledger.close();
      // A request still finishing can add a token marker while the folder goes; retry like rm -rf would.
      await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
  return harness;
}

/** Bytes that pass the magic-byte check for a type, padded with random bytes to `size`. */
export function fileOf(contentType: string, size: number): Uint8Array {
  const heads: Record<string, number[]> = {
    'image/png': [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    'image/jpeg': [0xff, 0xd8, 0xff, 0xe0],
    'video/mp4': [0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d],
    'application/pdf': [0x25, 0x50, 0x44, 0x46, 0x2d, 0x31, 0x2e, 0x37],
  };
  const bytes = new Uint8Array(size);
  crypto.getRandomValues(bytes.subarray(0, Math.min(size, 65536)));
  bytes.set((heads[contentType] ?? []).slice(0, size));
  return bytes;
}
