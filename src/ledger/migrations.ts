/**
 * Versioned schema migrations, plain Postgres SQL that PGlite and PostgreSQL both run. A migration
 * is never edited once released: change the schema with a new version.
 */
import type { SqlDriver } from './sql.js';

export interface Migration {
  version: number;
  name: string;
  /** One or more statements; run in the migration's transaction. */
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'uploads and allowances',
    sql: `
      CREATE TABLE uploads (
        id            text PRIMARY KEY,
        user_id       text NOT NULL,
        route         text NOT NULL,
        key           text NOT NULL UNIQUE,
        size          bigint NOT NULL CHECK (size >= 0),
        content_type  text NOT NULL,
        name          text,
        checksum      jsonb,
        metadata      jsonb,
        visibility    text NOT NULL CHECK (visibility IN ('public', 'private')),
        status        text NOT NULL CHECK (status IN ('pending', 'completed', 'aborted', 'expired', 'failed')),
        period        text NOT NULL,
        multipart_id  text,
        part_size     bigint,
        part_count    integer,
        etag          text,
        -- Millisecond precision, like a JS Date, so a listing cursor round-trips exactly.
        created_at    timestamptz(3) NOT NULL DEFAULT now(),
        expires_at    timestamptz(3) NOT NULL,
        completed_at  timestamptz(3),
        -- A sweeper holds a pending upload until then (claimExpired).
        claimed_until timestamptz(3),
        -- Deleted files keep their row, so an object left behind by a failed storage delete can
        -- still be found; they are never listed or returned.
        deleted_at    timestamptz(3)
      );
      CREATE INDEX uploads_files_idx ON uploads (user_id, status, created_at DESC, id DESC);
      CREATE INDEX uploads_sweep_idx ON uploads (status, expires_at);

      CREATE TABLE allowance_usage (
        user_id        text NOT NULL,
        route          text NOT NULL,
        period         text NOT NULL,
        used_bytes     bigint NOT NULL DEFAULT 0 CHECK (used_bytes >= 0),
        reserved_bytes bigint NOT NULL DEFAULT 0 CHECK (reserved_bytes >= 0),
        PRIMARY KEY (user_id, route, period)
      );

      CREATE TABLE pending_counts (
        user_id text NOT NULL,
        route   text NOT NULL,
        pending integer NOT NULL DEFAULT 0 CHECK (pending >= 0),
        PRIMARY KEY (user_id, route)
      );
    `,
  },
  {
    version: 2,
    name: 'part checksums',
    // The MD5 each part URL was signed with; complete compares them with the storage's part ETags.
    sql: `
      CREATE TABLE upload_part_checksums (
        upload_id   text NOT NULL REFERENCES uploads (id),
        part_number integer NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
        md5         text NOT NULL,
        PRIMARY KEY (upload_id, part_number)
      );
    `,
  },
];

// Any constant shared by every dropgate instance works; this is "drop" in ASCII.
const MIGRATION_LOCK = 0x64726f70;

/**
 * Applies the migrations not yet recorded in `schema_migrations`, in version order, in one
 * transaction. Instances starting together on one PostgreSQL queue on an advisory lock, so the
 * schema is built once and the others find it done. Returns the versions it applied.
 * @example await migrate(pgliteDriver(db)); // [1] the first time, [] after
 */
export async function migrate(driver: SqlDriver, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  return driver.transaction(async (tx) => {
    // Taken before anything else: even CREATE TABLE IF NOT EXISTS races with itself on PostgreSQL.
    await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await tx.exec(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )
    `);
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const m of ordered) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}
