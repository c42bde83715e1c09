/**
 * A gateway on the s3 store (Ceph RGW) and an in-memory PGlite ledger, driven like
 * helpers/harness.ts: API calls through `gateway.handle`, uploads with fetch straight to RGW, as a
 * browser would. Keys go under a fresh prefix that `close()` removes.
 */
import { PGlite } from '@electric-sql/pglite';
import { pgliteDriver } from '../../src/ledger/pglite.js';
import { createSqlLedger } from '../../src/ledger/sql-ledger.js';
import type { Ledger } from '../../src/ledger/types.js';
import type { DropgateOptions, RouteConfig } from '../../src/server/config.js';
import { createDropgate, type Dropgate } from '../../src/server/gateway.js';
import type { S3Storage } from '../../src/storage/s3.js';
import { gatewayRequest, jsonOf } from './requests.js';
import { type RgwEnv, removePrefix, rgwStorage, testPrefix } from './rgw.js';

export const ORIGIN = 'http://localhost:3000';
export const BASE = '/api/upload';

export type Json = Record<string, unknown>;

export interface S3Gateway {
  gateway: Dropgate;
  ledger: Ledger;
  storage: S3Storage;
  /** The route's key prefix in the bucket. */
  prefix: string;
  call(
    method: string,
    path: string,
    json?: unknown,
    user?: string,
  ): Promise<{ status: number; headers: Record<string, string>; json: Json }>;
  close(): Promise<void>;
}

/** Users are named by the `x-test-user` header, as in helpers/harness.ts. */
export async function createS3Gateway(env: RgwEnv, route: RouteConfig = {}, overrides: Partial<DropgateOptions> = {}): Promise<S3Gateway> {
  const db = await PGlite.create();
  const ledger = createSqlLedger(pgliteDriver(db));
  await ledger.migrate();
  const storage = rgwStorage(env);
  const prefix = testPrefix('gateway').replace(/\/$/, '');
  const gateway = createDropgate({
    storage,
    ledger,
    publicUrl: ORIGIN,
    routes: { default: { keyPrefix: prefix, ...route } },
    authenticate: (req) => {
      const user = req.header('x-test-user');
      return user ? { userId: user } : null;
    },
    log: () => {},
    ...overrides,
  });
  return {
    gateway,
    ledger,
    storage,
    prefix,
    async call(method, path, body, user = 'alice') {
      const init = { ...(body !== undefined && { json: body }), headers: { 'x-test-user': user } };
      const response = await gateway.handle(gatewayRequest(method, path, init));
      // A redirect has no body.
      const json: Json = await jsonOf(response).catch(() => ({}));
      return { status: response.status, headers: response.headers, json };
    },
    async close() {
      await removePrefix(storage, `${prefix}/`);
      await ledger.close();
    },
  };
}

/** PUTs bytes to a presigned URL with its signed headers, as the seed's client does. */
export async function putTo(
  url: string,
  headers: Record<string, string>,
  bytes: Uint8Array,
  extra: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, { method: 'PUT', headers: { ...headers, ...extra }, body: bytes as Uint8Array<ArrayBuffer> });
}
