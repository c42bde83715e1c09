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
  {
    version: 3,
    name: 'reserve in one statement',
    // A reservation was BEGIN, five statements and COMMIT: seven round trips holding a pooled
    // connection (PostgreSQL), seven trips through the WebAssembly boundary (PGlite). As one
    // function call it is one round trip, with the same conditional writes under the same row
    // locks, in the same order (pending_counts, then allowance_usage). The upserts create a
    // missing counter row and take its slot in one step; a row that fails the condition is
    // locked and left unchanged, so FOUND says whether the slot was taken. A refusal after the
    // pending slot was taken gives it back while the lock is still held: the statement ends with
    // no effect. Outcome: 'ok' (r_created_at set), 'pending' (r_amount = pending uploads) or
    // 'quota' (r_amount = bytes left).
    sql: `
      CREATE FUNCTION dropgate_reserve(
        p_id text, p_user_id text, p_route text, p_key text, p_size bigint, p_content_type text, p_name text,
        p_checksum jsonb, p_metadata jsonb, p_visibility text, p_period text, p_multipart_id text,
        p_part_size bigint, p_part_count integer, p_expires_at timestamptz, p_allowance bigint, p_pending_cap bigint,
        OUT r_outcome text, OUT r_amount bigint, OUT r_created_at timestamptz
      ) LANGUAGE plpgsql AS $$
      DECLARE
        v_used bigint;
        v_reserved bigint;
      BEGIN
        INSERT INTO pending_counts AS c (user_id, route, pending)
          SELECT p_user_id, p_route, 1 WHERE p_pending_cap >= 1
          ON CONFLICT (user_id, route) DO UPDATE SET pending = c.pending + 1 WHERE c.pending < p_pending_cap;
        IF NOT FOUND THEN
          r_outcome := 'pending';
          r_amount := coalesce((SELECT c.pending FROM pending_counts c WHERE c.user_id = p_user_id AND c.route = p_route), 0);
          RETURN;
        END IF;

        INSERT INTO allowance_usage AS a (user_id, route, period, reserved_bytes)
          SELECT p_user_id, p_route, p_period, p_size WHERE p_size <= p_allowance
          ON CONFLICT (user_id, route, period) DO UPDATE SET reserved_bytes = a.reserved_bytes + p_size
          WHERE a.used_bytes + a.reserved_bytes + p_size <= p_allowance;
        IF NOT FOUND THEN
          UPDATE pending_counts SET pending = pending - 1 WHERE user_id = p_user_id AND route = p_route;
          SELECT a.used_bytes, a.reserved_bytes INTO v_used, v_reserved
            FROM allowance_usage a WHERE a.user_id = p_user_id AND a.route = p_route AND a.period = p_period;
          r_outcome := 'quota';
          r_amount := greatest(0, p_allowance - coalesce(v_used, 0) - coalesce(v_reserved, 0));
          RETURN;
        END IF;

        INSERT INTO uploads (id, user_id, route, key, size, content_type, name, checksum, metadata, visibility, status,
                             period, multipart_id, part_size, part_count, expires_at)
          VALUES (p_id, p_user_id, p_route, p_key, p_size, p_content_type, p_name, p_checksum, p_metadata, p_visibility,
                  'pending', p_period, p_multipart_id, p_part_size, p_part_count, p_expires_at)
          RETURNING created_at INTO r_created_at;
        r_outcome := 'ok';
      END
      $$;
    `,
  },
  {
    version: 4,
    name: 'complete, release and signed parts in one statement',
    // complete and release were BEGIN, three statements and COMMIT (five round trips, a pooled
    // connection held across them); a parts call was two statements. Each is now one function
    // call with the same conditional writes and row locks. Locks, in order: the upload row, then
    // pending_counts, then allowance_usage. dropgate_reserve takes pending_counts, then
    // allowance_usage, then inserts a new upload row: the counters come in the same order, and
    // no reservation waits for an existing upload row (its row is new, under a fresh id and key;
    // only a duplicate id or key could wait on one, and that ends in a unique violation). So no
    // cycle of waits between the two, nor with deleteFile (upload row, then allowance_usage).
    //
    // dropgate_complete returns no row when the upload does not exist (or was deleted); otherwise
    // one row: whether this call completed it, and the row as it is now. A parallel call waits for
    // the row lock, then finds the status 'completed' and changes nothing. The self-join hands
    // back the reserved size the UPDATE overwrites with the actual one.
    //
    // dropgate_parts_signed records the MD5s parts were signed with and pushes the upload's
    // lifetime forward: the upload row first (like every function here), then the checksum rows
    // in ascending part order, so two parts calls for one upload cannot lock in crossed order.
    // GREATEST: a late, slower request must not shorten a lifetime another one just extended.
    sql: `
      CREATE FUNCTION dropgate_settle(p_user_id text, p_route text, p_period text, p_reserved bigint, p_used bigint)
        RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE pending_counts SET pending = pending - 1 WHERE user_id = p_user_id AND route = p_route;
        UPDATE allowance_usage SET reserved_bytes = reserved_bytes - p_reserved, used_bytes = used_bytes + p_used
          WHERE user_id = p_user_id AND route = p_route AND period = p_period;
      END
      $$;

      CREATE FUNCTION dropgate_complete(p_id text, p_size bigint, p_etag text)
        RETURNS TABLE (r_changed boolean, r_upload uploads) LANGUAGE plpgsql AS $$
      DECLARE
        v_user_id text;
        v_route text;
        v_period text;
        v_reserved bigint;
      BEGIN
        UPDATE uploads AS u SET status = 'completed', size = p_size, etag = p_etag, completed_at = now(), claimed_until = NULL
          FROM uploads AS before
          WHERE u.id = p_id AND before.id = u.id AND u.status = 'pending'
          RETURNING u.user_id, u.route, u.period, before.size INTO v_user_id, v_route, v_period, v_reserved;
        r_changed := FOUND;
        IF r_changed THEN
          PERFORM dropgate_settle(v_user_id, v_route, v_period, v_reserved, p_size);
        END IF;
        RETURN QUERY SELECT r_changed, u FROM uploads AS u WHERE u.id = p_id AND u.deleted_at IS NULL;
      END
      $$;

      CREATE FUNCTION dropgate_release(p_id text, p_status text) RETURNS boolean LANGUAGE plpgsql AS $$
      DECLARE
        v_user_id text;
        v_route text;
        v_period text;
        v_reserved bigint;
      BEGIN
        UPDATE uploads SET status = p_status, claimed_until = NULL WHERE id = p_id AND status = 'pending'
          RETURNING user_id, route, period, size INTO v_user_id, v_route, v_period, v_reserved;
        IF NOT FOUND THEN
          RETURN false;
        END IF;
        PERFORM dropgate_settle(v_user_id, v_route, v_period, v_reserved, 0);
        RETURN true;
      END
      $$;

      CREATE FUNCTION dropgate_parts_signed(p_id text, p_expires_at timestamptz, p_part_numbers integer[], p_md5s text[])
        RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE uploads SET expires_at = greatest(expires_at, p_expires_at) WHERE id = p_id AND status = 'pending';
        INSERT INTO upload_part_checksums AS c (upload_id, part_number, md5)
          SELECT p_id, p.part_number, p.md5 FROM unnest(p_part_numbers, p_md5s) AS p (part_number, md5) ORDER BY p.part_number
          ON CONFLICT (upload_id, part_number) DO UPDATE SET md5 = EXCLUDED.md5;
      END
      $$;
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
