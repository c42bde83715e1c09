/**
 * Hooks are plain async functions. Both may run more than once for one upload (a client retries,
 * two instances race), so they must be idempotent.
 */
import type { UploadRecord } from '../ledger/types.js';
import type { Metadata } from '../shared/protocol.js';
import type { ResolvedRoute } from './config.js';

export interface BeforeSignContext {
  userId: string;
  route: ResolvedRoute;
  size: number;
  contentType: string;
  name: string | undefined;
  metadata: Metadata | undefined;
  clientIp: string;
}

export interface UploadCompleteContext {
  userId: string;
  route: ResolvedRoute;
  upload: UploadRecord;
  /** The stable read URL the client receives. */
  url: string;
}

export interface Hooks {
  /**
   * Runs after validation and before anything is reserved or signed. Throw a DropgateError (or
   * return false, which answers FORBIDDEN) to refuse.
   * @example onBeforeSign: async ({ userId }) => (await isBanned(userId)) ? false : undefined
   */
  onBeforeSign?: (ctx: BeforeSignContext) => Promise<boolean | undefined> | boolean | undefined;
  /**
   * Runs once the object is verified, before the upload is recorded as completed — from complete,
   * or from the sweeper for an upload whose client never called complete. If it throws, the upload
   * stays pending and the next complete (or sweep) runs it again; complete answers a DropgateError
   * as it is, and anything else as 503 SERVICE_UNAVAILABLE (the cause is logged, not sent).
   * @example onUploadComplete: async ({ upload, url }) => db.videos.upsert({ id: upload.id, url })
   */
  onUploadComplete?: (ctx: UploadCompleteContext) => Promise<void> | void;
}
