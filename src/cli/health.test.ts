/**
 * Health checks against real parts: a PGlite ledger that is open, then closed; a disk folder that
 * is writable, then is not; a dependency that never answers.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPGliteLedger } from '../ledger/pglite.js';
import type { LogEntry } from '../server/config.js';
import { diskCheck, healthz, ledgerCheck, readyz } from './health.js';

let dir: string;
const logs: LogEntry[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dropgate-health-'));
  logs.length = 0;
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const bodyOf = (response: { body?: unknown }) => JSON.parse(String(response.body));

describe('healthz', () => {
  it('answers 200 while the ledger answers and the folder is writable, 503 naming what failed otherwise', async () => {
    const ledger = await createPGliteLedger();
    await ledger.migrate();
    const files = join(dir, 'files');
    await mkdir(files);
    const checks = { ledger: ledgerCheck(ledger), storage: diskCheck(files) };
    const ok = await healthz(checks, (e) => logs.push(e));
    expect(ok.status).toBe(200);
    expect(bodyOf(ok)).toMatchObject({ status: 'ok', checks: { ledger: { ok: true }, storage: { ok: true } } });

    await ledger.close();
    const down = await healthz(checks, (e) => logs.push(e));
    expect(down.status).toBe(503);
    expect(bodyOf(down).checks).toMatchObject({ ledger: { ok: false, error: 'LEDGER_UNAVAILABLE' }, storage: { ok: true } });
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', check: 'ledger' }));
  });

  it('fails the storage check where the folder cannot be written', async () => {
    // A file where the folder should be: unwritable even for root, unlike a chmod.
    const blocked = join(dir, 'not-a-folder');
    await writeFile(blocked, '');
    const response = await healthz({ storage: diskCheck(blocked) }, () => {});
    expect([response.status, bodyOf(response).checks.storage]).toEqual([503, { ok: false, error: 'UNREACHABLE' }]);
  });

  it('gives up on a check that never answers within two seconds', async () => {
    const started = Date.now();
    const response = await healthz({ redis: () => new Promise(() => {}) }, () => {});
    expect(response.status).toBe(503);
    expect(bodyOf(response).checks.redis).toEqual({ ok: false, error: 'UNREACHABLE' });
    expect(Date.now() - started).toBeLessThan(4000);
  });
});

describe('readyz', () => {
  it('is 200 only when ready', () => {
    expect(readyz('ready').status).toBe(200);
    expect(readyz('starting').status).toBe(503);
    expect(readyz('draining').status).toBe(503);
  });
});
