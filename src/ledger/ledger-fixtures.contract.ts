/** Fixtures shared by the two halves of the ledger contract. */
import { randomUUID } from 'node:crypto';
import type { Ledger, ReserveInput, ReserveResult, UploadRecord } from './types.js';

/** A fresh, empty ledger for each test; the suite migrates it and closes it. */
export type MakeLedger = () => Promise<Ledger>;

export interface LedgerContext {
  /** The ledger of the running test. */
  ledger(): Ledger;
  /** Marks the ledger closed by the test itself, so that the suite does not close it twice. */
  closed(): void;
}

/** A reservation with sensible defaults; every call is a new upload id and key. */
export function uploadInput(overrides: Partial<ReserveInput> = {}): ReserveInput {
  const id = randomUUID();
  return {
    id,
    userId: 'alice',
    route: 'videos',
    key: `videos/${id}.mp4`,
    size: 1000,
    contentType: 'video/mp4',
    name: 'clip.mp4',
    checksum: null,
    metadata: null,
    visibility: 'private',
    period: '2026-11-24',
    multipartId: null,
    partSize: null,
    partCount: null,
    expiresAt: new Date(Date.now() + 3_600_000),
    allowanceBytes: 10_000,
    pendingCap: 100,
    ...overrides,
  };
}

export function expectOk(result: ReserveResult): UploadRecord {
  if (!result.ok) throw new Error(`expected the reservation to pass, got ${JSON.stringify(result)}`);
  return result.upload;
}
