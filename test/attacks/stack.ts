/**
 * The stack each attack runs against, and the "nothing left behind" checks every attack ends with.
 *
 * Today there is one stack: the disk store and a PGlite ledger behind `gateway.handle` (the
 * embedded defaults of `dropgate dev`). The attacks only use `AttackStack`, so an S3/RGW or
 * PostgreSQL/Redis stack joins by adding a factory to STACKS whose `scratch()` lists that store's
 * leftovers (RGW: ListMultipartUploads under the test prefix), with no change to the attacks.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import type { DropgateOptions } from '../../src/server/config.js';
import type { DiskStorage } from '../../src/storage/disk.js';
import { createHarness, type Harness } from '../helpers/harness.js';

/** The allowance bucket of the harness clock's first day (reservations keep it after the clock moves). */
export const PERIOD = '2026-11-24';

export interface AttackStack extends Harness {
  /** Files in the store's scratch areas: bytes being received, and parts of unfinished multipart uploads. */
  scratch(): Promise<{ temp: string[]; multipart: string[] }>;
}

export interface StackFactory {
  name: string;
  create(overrides?: Partial<DropgateOptions>): Promise<AttackStack>;
}

async function list(dir: string): Promise<string[]> {
  return readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
}

export const diskStack: StackFactory = {
  name: 'disk + PGlite',
  async create(overrides) {
    const harness = await createHarness(overrides);
    const { directory } = harness.storage as DiskStorage;
    return {
      ...harness,
      scratch: async () => ({ temp: await list(join(directory, '.tmp')), multipart: await list(join(directory, '.multipart')) }),
    };
  },
};

/** Every stack the attacks run on. S3 (RGW) and PostgreSQL/Redis stacks are added here as they land. */
export const STACKS: StackFactory[] = [diskStack];

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

/** No object at any of the keys, and no temp file or multipart part anywhere in the store. */
export async function expectNothingStored(s: AttackStack, ...keys: string[]): Promise<void> {
  for (const key of keys) expect(await s.storage.head(key), `object at ${key}`).toBeUndefined();
  expect(await s.scratch()).toEqual({ temp: [], multipart: [] });
}
