/**
 * What every handler shares: the resolved options and the steps each API call starts with.
 */
import type { Ledger, UploadRecord } from '../ledger/types.js';
import { DropgateError } from '../shared/errors.js';
import type { GatewayRequest } from '../shared/http.js';
import { type FileRecord, MAX_JSON_BODY_BYTES } from '../shared/protocol.js';
import type { Storage } from '../storage/types.js';
import type { Authenticate, Logger, ResolvedRoute } from './config.js';
import type { Hooks } from './hooks.js';
import { clientIp, identify } from './identity.js';
import { assertNotCrossSite, type OriginPolicy } from './origin.js';
import type { RouteLimiters } from './rate-limit.js';

export interface GatewayContext {
  storage: Storage;
  ledger: Ledger;
  routes: Map<string, ResolvedRoute>;
  defaultRoute: ResolvedRoute;
  limiters: Map<string, RouteLimiters>;
  basePath: string;
  /** Origin prefixed to URLs the gateway builds; '' gives root-relative URLs. */
  publicUrl: string;
  originPolicy: OriginPolicy;
  trustProxy: boolean;
  authenticate: Authenticate | undefined;
  hooks: Hooks;
  log: Logger;
  now: () => Date;
  /** Completions running in this process, by upload id, so parallel calls share one. */
  completions: Map<string, Promise<FileRecord>>;
}

export interface Caller {
  userId: string;
  ip: string;
}

/** CSRF check for state changes, then who is asking. */
export async function callerOf(ctx: GatewayContext, request: GatewayRequest): Promise<Caller> {
  if (request.method !== 'GET' && request.method !== 'HEAD') assertNotCrossSite(request, ctx.originPolicy);
  const ip = clientIp(request, ctx.trustProxy);
  const { userId } = await identify(request, ip, ctx.authenticate);
  return { userId, ip };
}

/** The JSON body as an object; an empty body is `{}`. */
export async function readJson(request: GatewayRequest): Promise<Record<string, unknown>> {
  const text = await request.text(MAX_JSON_BODY_BYTES);
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DropgateError('INVALID_REQUEST', 'The request body is not valid JSON.');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DropgateError('INVALID_REQUEST', 'The request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

export function routeOf(ctx: GatewayContext, name: string): ResolvedRoute {
  const route = ctx.routes.get(name);
  if (!route) throw new DropgateError('INVALID_REQUEST', `Unknown route "${name}".`, { field: 'route' });
  return route;
}

/**
 * The caller's upload, or NOT_FOUND — also for another user's upload, so ids never leak whether
 * they exist.
 */
export async function ownUpload(ctx: GatewayContext, id: string, userId: string): Promise<UploadRecord> {
  const upload = /^[0-9a-f-]{36}$/.test(id) ? await ctx.ledger.getUpload(id) : undefined;
  if (!upload || upload.userId !== userId) throw new DropgateError('NOT_FOUND', 'No such upload.');
  return upload;
}

/** The stable read URL: permanent for public files, through the gateway for private ones. */
export function readUrlOf(ctx: GatewayContext, upload: Pick<UploadRecord, 'id' | 'key' | 'visibility'>): string {
  if (upload.visibility === 'public') {
    const direct = ctx.storage.publicUrl(upload.key);
    if (direct) return direct;
  }
  return `${ctx.publicUrl}${ctx.basePath}/files/${upload.id}`;
}

export function fileRecordOf(ctx: GatewayContext, upload: UploadRecord): FileRecord {
  const record: FileRecord = {
    id: upload.id,
    key: upload.key,
    size: upload.size,
    contentType: upload.contentType,
    url: readUrlOf(ctx, upload),
    createdAt: upload.createdAt.toISOString(),
  };
  if (upload.name !== null) record.name = upload.name;
  if (upload.metadata !== null) record.metadata = upload.metadata;
  return record;
}
