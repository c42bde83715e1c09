/**
 * Property-based fuzz of the sign and complete endpoints through `gateway.handle`: random bodies
 * (valid, nearly valid, hostile, garbage) and random headers. Whatever arrives: never a 5xx, an
 * error body whose code matches its status, and never a signed URL or a reservation for a request
 * an independent oracle calls invalid; complete charges only a genuine owner's verified upload.
 *
 * Bounded for `npm test`; `npm run fuzz` runs it long. DROPGATE_FUZZ_RUNS and
 * DROPGATE_FUZZ_SECONDS set the budget, DROPGATE_FUZZ_SEED replays a failure.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '../../src/shared/errors.js';
import { type AttackStack, diskStack, PERIOD } from '../attacks/stack.js';
import { fileOf } from '../helpers/harness.js';
import { gatewayRequest, jsonOf } from '../helpers/requests.js';
import { arbitraryHeaders, arbitrarySignBody, completeBodies, csrfAllows, type Headers, signIsValid } from './arbitraries.js';

const RUNS = Number(process.env.DROPGATE_FUZZ_RUNS ?? 150);
const SECONDS = Number(process.env.DROPGATE_FUZZ_SECONDS ?? 8);
const SEED = process.env.DROPGATE_FUZZ_SEED === undefined ? {} : { seed: Number(process.env.DROPGATE_FUZZ_SEED) };
const budget = { numRuns: RUNS, interruptAfterTimeLimit: SECONDS * 1000, ...SEED };
const MAX_SIZE = 10_000;

let s: AttackStack;
beforeAll(async () => {
  s = await diskStack.create({
    routes: {
      default: {
        maxSize: MAX_SIZE,
        allowedTypes: ['image/*', 'video/mp4', 'application/pdf'],
        rateLimit: { perUserPerMinute: 1e6, perIpPerMinute: 1e6 },
        maxPendingUploads: 1e6,
      },
    },
  });
});
afterAll(() => s?.close());

/** A 4xx answer must say which error it is, with the status that error always has. */
async function expectWellFormedError(status: number, body: Record<string, unknown>): Promise<void> {
  expect(status).toBeGreaterThanOrEqual(400);
  expect(status).toBeLessThan(500);
  const code = (body.error as { code?: keyof typeof ERROR_STATUS } | undefined)?.code;
  expect(code && ERROR_STATUS[code]).toBe(status);
}

const pendingOf = async (user: string | undefined) => (user ? s.ledger.pendingCount(user, 'default') : 0);

describe('fuzz: sign', () => {
  it('never answers 5xx, and signs only requests the oracle calls valid', { timeout: SECONDS * 1000 + 60_000 }, async () => {
    const seen = { signed: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(arbitrarySignBody(), arbitraryHeaders(), async ({ body, raw }, headers: Headers) => {
        const before = await pendingOf(headers['x-test-user']);
        const response = await s.gateway.handle(
          gatewayRequest('POST', '/api/upload', { body: raw, headers: headers as Record<string, string> }),
        );
        const answer = await jsonOf(response);
        const valid = body !== undefined && signIsValid(body, MAX_SIZE) && csrfAllows(headers) && headers['x-test-user'] !== undefined;
        seen[response.status === 200 ? 'signed' : 'refused'] += 1;
        if (response.status === 200) {
          expect(valid, `signed an invalid request: ${raw.slice(0, 200)} ${JSON.stringify(headers)}`).toBe(true);
          const upload = await s.ledger.getUpload(String(answer.uploadId));
          expect(upload).toMatchObject({ size: body?.size, status: 'pending', userId: headers['x-test-user'] });
          expect(answer.presignedUrl ?? answer.multipart).toBeDefined();
          expect(await pendingOf(headers['x-test-user'])).toBe(before + 1);
        } else {
          await expectWellFormedError(response.status, answer);
          expect(answer.presignedUrl).toBeUndefined();
          expect(await pendingOf(headers['x-test-user'])).toBe(before);
        }
      }),
      budget,
    );
    // A fuzz that never gets a request through (or never refuses one) proves nothing.
    console.info(`fuzz sign: ${JSON.stringify(seen)}`);
    expect(seen.signed).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });
});

describe('fuzz: complete', () => {
  it('charges only the owner of a verified upload, once, and never answers 5xx', { timeout: SECONDS * 1000 + 60_000 }, async () => {
    let round = 0;
    const seen = { completed: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('nothing', 'right bytes', 'right bytes', 'HTML bytes'),
        fc.constantFrom('own id', 'own id', 'own id', 'random id', 'dashes'),
        fc.boolean(),
        completeBodies(),
        arbitraryHeaders(),
        async (landed, idKind, asOwner, raw, headers: Headers) => {
          const owner = `fuzz-owner-${++round}`;
          const signed = await s.sign({ size: 300, contentType: 'image/png' }, owner);
          const id = String(signed.json.uploadId);
          if (landed !== 'nothing') {
            const bytes = landed === 'right bytes' ? fileOf('image/png', 300) : new TextEncoder().encode('<html>'.padEnd(300));
            expect((await s.put(signed.json, bytes)).status).toBe(200);
          }
          const path = idKind === 'own id' ? id : idKind === 'random id' ? crypto.randomUUID() : '-'.repeat(36);
          const caller = asOwner ? owner : headers['x-test-user'];
          const all = { ...headers, ...(caller === undefined ? {} : { 'x-test-user': caller }) } as Record<string, string>;
          const response = await s.gateway.handle(gatewayRequest('POST', `/api/upload/${path}/complete`, { body: raw, headers: all }));
          const answer = await jsonOf(response);
          const upload = await s.ledger.getUpload(id);
          const usage = await s.ledger.usage(owner, 'default', PERIOD);
          seen[response.status === 200 ? 'completed' : 'refused'] += 1;
          if (response.status === 200) {
            expect(caller).toBe(owner);
            expect(idKind).toBe('own id');
            expect(landed).toBe('right bytes');
            expect(csrfAllows(headers)).toBe(true);
            expect(upload?.status).toBe('completed');
            expect(usage).toEqual({ usedBytes: 300, reservedBytes: 0 });
            expect((await s.storage.head(String(signed.json.key)))?.size).toBe(300);
          } else {
            await expectWellFormedError(response.status, answer);
            expect(upload?.status).toMatch(/^(pending|failed)$/);
            expect(usage.usedBytes).toBe(0);
            if (upload?.status === 'failed') expect(await s.storage.head(String(signed.json.key))).toBeUndefined();
          }
        },
      ),
      budget,
    );
    console.info(`fuzz complete: ${JSON.stringify(seen)}`);
    expect(seen.completed).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });
});
