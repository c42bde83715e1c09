/**
 * Issue 6, attack 5: forged completion. Complete before the bytes (409, reservation kept until the
 * upload lifetime ends), with a forged parts list (422, everything removed), twice, ten times at
 * once on two gateways sharing one ledger (one file, one charge), racing an abort (ledger and
 * storage agree whoever wins), and after abort or expiry (410).
 */
import { describe, expect, it } from 'vitest';
import { createDropgate } from '../../src/server/gateway.js';
import { MiB } from '../../src/shared/sizes.js';
import { fileOf } from '../helpers/harness.js';
import { gatewayRequest, jsonOf } from '../helpers/requests.js';
import { type AttackStack, codeOf, expectLedger, expectNothingStored, newUser, STACKS, useStack } from './stack.js';

const BASE = '/api/upload';
type Part = { partNumber: number; url: string; headers: Record<string, string> };

async function uploaded(s: AttackStack, user: string, size = 2048) {
  const { json } = await s.sign({ size, contentType: 'image/png' }, user);
  expect((await s.put(json, fileOf('image/png', size))).status).toBe(200);
  return { id: String(json.uploadId), key: String(json.key) };
}

describe.each(STACKS)('forged completion on $name', (factory) => {
  const stack = useStack(factory, { routes: { default: { maxSize: '100MiB' } } });

  it('answers 409 before the bytes, keeps the reservation until the upload expires, then 410', async () => {
    // Its own stack: the clock moves a day, and the sweeper sweeps everything expired.
    const s = await factory.create();
    try {
      const user = newUser();
      const { json } = await s.sign({ size: 700, contentType: 'image/png' }, user);
      const id = String(json.uploadId);
      for (let i = 0; i < 3; i++) expect(codeOf((await s.complete(id, user)).json)).toBe('UPLOAD_NOT_RECEIVED');
      s.clock.advance(24 * 3600 - 60);
      expect(codeOf((await s.complete(id, user)).json)).toBe('UPLOAD_NOT_RECEIVED');
      expect(await s.gateway.sweep()).toEqual({ completed: 0, expired: 0, failed: 0 });
      await expectLedger(s, user, { usedBytes: 0, reservedBytes: 700, pending: 1 });
      s.clock.advance(61);
      expect(await s.gateway.sweep()).toMatchObject({ expired: 1 });
      await expectLedger(s, user, { usedBytes: 0, reservedBytes: 0, pending: 0 });
      const late = await s.complete(id, user);
      expect(late.status).toBe(410);
      expect(codeOf(late.json)).toBe('UPLOAD_EXPIRED');
      await expectNothingStored(s, String(json.key));
    } finally {
      await s.close();
    }
  });

  it.each([
    ['made-up ETags', (etags: string[]) => etags.map((_, i) => ({ partNumber: i + 1, etag: `"${'0'.repeat(31)}${i}"` }))],
    ['one part left out', (etags: string[]) => [{ partNumber: 1, etag: etags[0]! }]],
    ['the parts swapped', (etags: string[]) => etags.map((_, i) => ({ partNumber: i + 1, etag: etags[etags.length - 1 - i]! }))],
  ])('refuses a parts list with %s (422) and removes the upload, its parts and its reservation', async (_, forge) => {
    const s = stack();
    const user = newUser();
    const size = 17 * MiB;
    const { json } = await s.sign({ size, contentType: 'video/mp4', multipart: true }, user);
    const id = String(json.uploadId);
    const { partSize, partCount } = json.multipart as { partSize: number; partCount: number };
    const numbers = Array.from({ length: partCount }, (_, i) => i + 1);
    const signed = await s.call('POST', `${BASE}/${id}/parts`, { user, json: { parts: numbers.map((partNumber) => ({ partNumber })) } });
    const { parts } = await jsonOf<{ parts: Part[] }>(signed);
    const bytes = fileOf('video/mp4', size);
    const etags: string[] = [];
    for (const part of parts) {
      const slice = bytes.subarray((part.partNumber - 1) * partSize, Math.min(size, part.partNumber * partSize));
      const put = await s.send({ ...part, method: 'PUT', expiresAt: new Date() }, slice);
      expect(put.status).toBe(200);
      etags.push(String(put.headers.get('etag')));
    }
    const forged = await s.complete(id, user, { parts: forge(etags) });
    expect(forged.status).toBe(422);
    expect(codeOf(forged.json)).toBe('UPLOAD_INTEGRITY_FAILED');
    expect((await s.ledger.getUpload(id))?.status).toBe('failed');
    await expectLedger(s, user, { usedBytes: 0, reservedBytes: 0, pending: 0 });
    await expectNothingStored(s, String(json.key));
    // A part URL still in hand writes nothing any more.
    const again = await s.send({ ...parts[0]!, method: 'PUT', expiresAt: new Date() }, bytes.subarray(0, partSize));
    expect(again.status).toBeGreaterThanOrEqual(400);
    await expectNothingStored(s, String(json.key));
  });

  it('answers the same file to a second complete, and charges once', async () => {
    const s = stack();
    const user = newUser();
    const { id } = await uploaded(s, user);
    const first = await s.complete(id, user);
    const second = await s.complete(id, user);
    expect(second).toEqual(first);
    await expectLedger(s, user, { usedBytes: 2048, reservedBytes: 0, pending: 0 });
  });

  it('makes one file and one charge of 10 parallel completes split over two gateways on one ledger', async () => {
    const s = stack();
    const user = newUser();
    // A second gateway shares the storage and ledger but not the first one's in-process map of
    // running completions, as a second instance would: the ledger alone must keep it to one charge.
    const other = createDropgate({
      storage: s.storage,
      ledger: s.ledger,
      publicUrl: 'http://localhost:3000',
      authenticate: (req) => ({ userId: req.header('x-test-user') ?? '' }),
      now: () => s.clock.now,
      log: () => {},
    });
    const { id } = await uploaded(s, user);
    const results = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const request = gatewayRequest('POST', `${BASE}/${id}/complete`, { json: {}, headers: { 'x-test-user': user } });
        const response = await (i % 2 ? other : s.gateway).handle(request);
        return { status: response.status, json: await jsonOf(response) };
      }),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(results.map((r) => (r.json.file as { id: string }).id))).toEqual(new Set([id]));
    await expectLedger(s, user, { usedBytes: 2048, reservedBytes: 0, pending: 0 });
    expect((await s.ledger.listFiles(user, { limit: 10 })).files).toHaveLength(1);
  });

  it('keeps ledger and storage in agreement when complete and abort race', async () => {
    const s = stack();
    for (let round = 0; round < 8; round++) {
      const user = newUser();
      const { id, key } = await uploaded(s, user);
      const [done, aborted] = await Promise.all([s.complete(id, user), s.call('DELETE', `${BASE}/${id}`, { user })]);
      const status = (await s.ledger.getUpload(id))?.status;
      if (status === 'completed') {
        expect(done.status).toBe(200);
        expect(aborted.status).toBe(400);
        expect((await s.storage.head(key))?.size).toBe(2048);
        await expectLedger(s, user, { usedBytes: 2048, reservedBytes: 0, pending: 0 });
      } else {
        expect(status).toBe('aborted');
        expect(aborted.status).toBe(200);
        expect(codeOf(done.json)).toBe('UPLOAD_ABORTED');
        await expectNothingStored(s, key);
        await expectLedger(s, user, { usedBytes: 0, reservedBytes: 0, pending: 0 });
      }
    }
  });

  it('answers 410 UPLOAD_ABORTED after abort, however often, and the bytes are gone', async () => {
    const s = stack();
    const user = newUser();
    const { id, key } = await uploaded(s, user);
    expect((await s.call('DELETE', `${BASE}/${id}`, { user })).status).toBe(200);
    expect((await s.call('DELETE', `${BASE}/${id}`, { user })).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const late = await s.complete(id, user);
      expect(late.status).toBe(410);
      expect(codeOf(late.json)).toBe('UPLOAD_ABORTED');
    }
    await expectNothingStored(s, key);
    await expectLedger(s, user, { usedBytes: 0, reservedBytes: 0, pending: 0 });
  });
});
