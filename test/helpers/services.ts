/**
 * The real PostgreSQL and Redis of DESIGN.md (127.0.0.1:5432, 127.0.0.1:6379) for integration
 * suites: probes, the CI rule (a missing server fails the suite in CI, skips it locally with the
 * reason printed), and a fresh schema per test so suites never see each other's rows.
 *
 * @example
 * const pgUp = await requireService('PostgreSQL', postgresProblem);
 * describe.skipIf(!pgUp)('ledger on PostgreSQL', () => { … });
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

/** Overridable for machines whose servers live elsewhere; loopback by default. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const START_HINT = 'start it (scripts/ci-setup.sh does) or set TEST_DATABASE_URL / TEST_REDIS_URL';

/** `CI` set to anything but empty, `0` or `false`, as CI services do. */
export function isCi(): boolean {
  const value = process.env.CI;
  return value !== undefined && !/^(|0|false)$/i.test(value.trim());
}

/** Why PostgreSQL cannot be used, or undefined when it answers. */
export async function postgresProblem(url = TEST_DATABASE_URL): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${redactUrl(url)} is not answering (${(error as Error).message || String(error)})`;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Why Redis cannot be used, or undefined when it answers PING. */
export async function redisProblem(url = TEST_REDIS_URL): Promise<string | undefined> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG' ? undefined : `Redis at ${redactUrl(url)} did not answer PONG`;
  } catch (error) {
    return `Redis at ${redactUrl(url)} is not answering (${(error as Error).message || String(error)})`;
  } finally {
    client.disconnect();
  }
}

/**
 * Call at collection time. True when the service answers; otherwise throws in CI (the suite fails
 * instead of passing by skipping everything) and prints the reason locally.
 */
export async function requireService(name: string, problem: () => Promise<string | undefined>): Promise<boolean> {
  const reason = await problem();
  if (reason === undefined) return true;
  if (isCi()) throw new Error(`${name} tests cannot run in CI: ${reason}; ${START_HINT}.`);
  console.warn(`Skipping ${name} tests: ${reason}; ${START_HINT}.`);
  return false;
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//…@');
}

export interface TestSchema {
  name: string;
  /** TEST_DATABASE_URL with the schema as its search_path (for child processes). */
  url: string;
  drop(): Promise<void>;
}

/** A new, empty schema; `drop()` removes it and everything in it (safe to call twice). */
export async function createTestSchema(url = TEST_DATABASE_URL): Promise<TestSchema> {
  const name = `dropgate_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(url, `CREATE SCHEMA ${name}`);
  let dropped: Promise<void> | undefined;
  const withPath = new URL(url);
  withPath.searchParams.set('options', `-c search_path=${name}`);
  return {
    name,
    url: withPath.toString(),
    drop: () => {
      dropped ??= adminQuery(url, `DROP SCHEMA IF EXISTS ${name} CASCADE`).then(() => undefined);
      return dropped;
    },
  };
}

/** One statement on a short-lived connection of its own. */
export async function adminQuery<T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end().catch(() => {});
  }
}
