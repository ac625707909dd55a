/**
 * The PostgreSQL layout, as an ordered list of migrations (the SQLite layout's
 * tables, sqlite/migrations.ts, in PostgreSQL's terms). `cced_migrations`
 * records each one that ran; migrate() runs the rest on an empty or older
 * database, each in its own transaction, under an advisory lock so that nodes
 * starting together run each migration once. A new layout change is one more
 * entry at the end.
 */
import type { Pool } from 'pg';

export const PG_MIGRATIONS: readonly string[] = [
  // 1: the tables of SQLite's migrations 1-5 at once. Oids, change ids and event ids come from sequences: a
  // sequence never hands a number out twice, whichever node asks and whether or not its transaction commits.
  // `value COLLATE "C"`: byte order, as SQLite compares text, so pages and sorted finds keep their order.
  // props_find covers values up to 2000 bytes (a B-tree entry holds at most about 2700): a longer value is
  // stored and found, without the index.
  `CREATE SEQUENCE objects_oid_seq;
   CREATE TABLE objects (
     oid bigint PRIMARY KEY DEFAULT nextval('objects_oid_seq'),
     class text NOT NULL,
     created_at bigint NOT NULL,
     updated_at bigint NOT NULL
   );
   ALTER SEQUENCE objects_oid_seq OWNED BY objects.oid;
   CREATE INDEX objects_class ON objects (class, oid);
   CREATE TABLE props (
     oid bigint NOT NULL,
     ns text NOT NULL,
     name text NOT NULL,
     class text NOT NULL,
     value text COLLATE "C" NOT NULL,
     PRIMARY KEY (oid, ns, name)
   );
   CREATE INDEX props_find ON props (class, ns, name, value) WHERE octet_length(value) <= 2000;
   CREATE TABLE credentials (
     oid bigint NOT NULL,
     name text NOT NULL,
     hash text NOT NULL,
     updated_at bigint NOT NULL,
     PRIMARY KEY (oid, name)
   );
   CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL);
   CREATE SEQUENCE device_events_id_seq;
   CREATE TABLE device_events (
     id bigint PRIMARY KEY DEFAULT nextval('device_events_id_seq'),
     device_oid bigint NOT NULL,
     at bigint NOT NULL,
     event text NOT NULL,
     host text NOT NULL,
     remote text NOT NULL
   );
   ALTER SEQUENCE device_events_id_seq OWNED BY device_events.id;
   CREATE INDEX device_events_by_device ON device_events (device_oid, id);
   CREATE SEQUENCE changes_id_seq;
   CREATE TABLE changes (
     id bigint PRIMARY KEY DEFAULT nextval('changes_id_seq'),
     at bigint NOT NULL,
     class text NOT NULL,
     oid bigint NOT NULL,
     ns text NOT NULL,
     props text NOT NULL,
     created integer NOT NULL,
     destroyed integer NOT NULL
   );
   ALTER SEQUENCE changes_id_seq OWNED BY changes.id;
   CREATE TABLE grants (
     digest bytea PRIMARY KEY,
     kind text NOT NULL CHECK (kind IN ('session', 'token')),
     user_oid bigint NOT NULL,
     user_name text NOT NULL,
     origin text NOT NULL,
     bound_to text,
     admin integer NOT NULL DEFAULT 0,
     owner text,
     issued_at bigint NOT NULL,
     expires_at bigint NOT NULL,
     lifetime_ms bigint NOT NULL,
     sliding integer NOT NULL
   );
   CREATE INDEX grants_by_user ON grants (user_oid);
   CREATE INDEX grants_by_owner ON grants (owner, expires_at);
   CREATE INDEX grants_by_expiry ON grants (expires_at);`,
  // 2: what nodes sharing the database need (docs/postgresql.md). write_version_seq: every write transaction
  // takes a number just after its COMMIT (externalVersion). changes_pruned: the highest change id pruning
  // removed, so the log's committed high-water mark outlives its rows. props_long: the values too long for
  // props_find, so a `~` with a literal prefix scans a range of props_find plus these, never the class.
  `CREATE SEQUENCE write_version_seq;
   CREATE TABLE changes_pruned (one boolean PRIMARY KEY DEFAULT true CHECK (one), through bigint NOT NULL);
   CREATE INDEX props_long ON props (class, ns, name) WHERE octet_length(value) > 2000;`,
  // 3: the bans the nodes share (shared-bans.ts): rate-limiter-flexible's counters (its own layout, with a
  // text key: a key holds a client's identity) and the bans in force.
  `CREATE TABLE ban_counts (key text PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint);
   CREATE TABLE bans (scope text NOT NULL, key text NOT NULL, until bigint NOT NULL, PRIMARY KEY (scope, key));`,
];

/**
 * The first key of the two-key advisory locks of a store (the second: a hash of the schema, and of the job's
 * name), so two stores in one database never share one. LAYOUT_LOCK below is a one-key lock: another space.
 */
export const CHANGE_LOG_LOCK = 0x63636501;
export const JOB_LOCK = 0x63636502;

/** One number for the advisory lock every node's layout changes take ('cced' in ASCII): migrate() and enforceUnique(). */
export const LAYOUT_LOCK = 0x63636564;

/** How many migrations have run (0 on an empty database). */
export async function layoutVersion(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ v: number | null }>("SELECT CASE WHEN to_regclass('cced_migrations') IS NULL THEN 0 ELSE (SELECT coalesce(max(version), 0) FROM cced_migrations) END AS v");
  return rows[0]?.v ?? 0;
}

/** Runs the migrations not run yet, once across nodes; returns how many this call ran. */
export async function migratePg(pool: Pool): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LAYOUT_LOCK]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS cced_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      const { rows } = await client.query<{ v: number }>('SELECT coalesce(max(version), 0) AS v FROM cced_migrations');
      const current = rows[0]!.v;
      if (current > PG_MIGRATIONS.length) throw new Error(`database layout version ${current} is newer than this cced knows (${PG_MIGRATIONS.length})`);
      for (let v = current; v < PG_MIGRATIONS.length; v++) {
        await client.query('BEGIN');
        try {
          await client.query(PG_MIGRATIONS[v]!);
          await client.query('INSERT INTO cced_migrations (version) VALUES ($1)', [v + 1]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      }
      return PG_MIGRATIONS.length - current;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [LAYOUT_LOCK]);
    }
  } finally {
    client.release();
  }
}
