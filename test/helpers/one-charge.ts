/**
 * The ledger after an upload that went through faults: exactly one file row for it, at its size,
 * and one charge — what its owner uses is the sum of the files they have, nothing reserved, nothing
 * pending. Retries that were counted twice, or a reservation never settled, break it.
 *
 * @example await expectOneFileOneCharge(stack.ledger, file.id, file.size);
 */
import { expect } from 'vitest';
import type { Ledger } from '../../src/ledger/types.js';

export async function expectOneFileOneCharge(ledger: Ledger, fileId: string, size: number, route = 'default'): Promise<void> {
  const upload = await ledger.getUpload(fileId);
  expect(upload?.status).toBe('completed');
  const userId = String(upload?.userId);
  const { files, nextCursor } = await ledger.listFiles(userId, { limit: 1000 });
  expect(nextCursor, 'one page holds every file of the user').toBeNull();
  expect(files.filter((f) => f.id === fileId).map((f) => f.size)).toEqual([size]);
  const usage = await ledger.usage(userId, route, String(upload?.period));
  const pending = await ledger.pendingCount(userId, route);
  const charged = files.reduce((sum, f) => sum + f.size, 0);
  expect({ ...usage, pending }).toEqual({ usedBytes: charged, reservedBytes: 0, pending: 0 });
}
