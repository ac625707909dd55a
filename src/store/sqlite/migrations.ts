/**
 * The database layout, as an ordered list of migrations. `PRAGMA user_version`
 * records how many have run; a new layout change is one more entry at the end.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: objects and their properties. AUTOINCREMENT: an oid is never reused, even after DESTROY.
  `CREATE TABLE objects (
     oid INTEGER PRIMARY KEY AUTOINCREMENT,
     class TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX objects_class ON objects (class, oid);
   -- One row per (object, namespace, property). The class is repeated so that
   -- FIND on a property value is one index range scan.
   CREATE TABLE props (
     oid INTEGER NOT NULL,
     ns TEXT NOT NULL,
     name TEXT NOT NULL,
     class TEXT NOT NULL,
     value TEXT NOT NULL,
     PRIMARY KEY (oid, ns, name)
   ) WITHOUT ROWID;
   CREATE INDEX props_find ON props (class, ns, name, value);
   -- Write-only values (password hashes) live apart so no read path can return them.
   CREATE TABLE credentials (
     oid INTEGER NOT NULL,
     name TEXT NOT NULL,
     hash TEXT NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (oid, name)
   ) WITHOUT ROWID;
   CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;`,
  // 2: device connection events (the Meeting API's device logs). Append-only rows, trimmed per device to
  // status_max_logs; kept out of the object tables because a fleet writes them at heartbeat rate.
  `CREATE TABLE device_events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     device_oid INTEGER NOT NULL,
     at INTEGER NOT NULL,
     event TEXT NOT NULL,
     host TEXT NOT NULL,
     remote TEXT NOT NULL
   );
   CREATE INDEX device_events_by_device ON device_events (device_oid, id);`,
  // 3: objects per class, kept by triggers in the writing transaction: a count is one row read at any size,
  // exact across processes, and a rolled-back create or destroy never moved it.
  `CREATE TABLE class_counts (class TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
   INSERT INTO class_counts (class, n) SELECT class, count(*) FROM objects GROUP BY class;
   CREATE TRIGGER objects_counted AFTER INSERT ON objects BEGIN
     INSERT INTO class_counts (class, n) VALUES (NEW.class, 1) ON CONFLICT (class) DO UPDATE SET n = n + 1;
   END;
   CREATE TRIGGER objects_uncounted AFTER DELETE ON objects BEGIN
     UPDATE class_counts SET n = n - 1 WHERE class = OLD.class;
   END;`,
  // 4: the change log (src/store/changes.ts): one row per object and namespace a committed transaction touched,
  // property names only (never values). AUTOINCREMENT: an id is never handed out twice, even once pruning
  // emptied the table, so a client's Last-Event-ID always means the same place in the log.
  `CREATE TABLE changes (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     class TEXT NOT NULL,
     oid INTEGER NOT NULL,
     ns TEXT NOT NULL,
     props TEXT NOT NULL,
     created INTEGER NOT NULL,
     destroyed INTEGER NOT NULL
   );`,
  // 5: sessions, LOGIN tokens and bearer grants (src/auth/grant-rows.ts), so a restart or a second process on
  // the same store keeps them until expiry. A grant is found by the SHA-256 of its secret; the secret itself is
  // never stored. `owner` is the key its limit counts under (max_sessions_per_user, max_tokens_per_client).
  // IF NOT EXISTS: a store taken back to an older layout by hand (test/store.test.ts) keeps its grants.
  `CREATE TABLE IF NOT EXISTS grants (
     digest BLOB PRIMARY KEY,
     kind TEXT NOT NULL CHECK (kind IN ('session', 'token')),
     user_oid INTEGER NOT NULL,
     user_name TEXT NOT NULL,
     origin TEXT NOT NULL,
     bound_to TEXT,
     admin INTEGER NOT NULL DEFAULT 0,
     owner TEXT,
     issued_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     lifetime_ms INTEGER NOT NULL,
     sliding INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX IF NOT EXISTS grants_by_user ON grants (user_oid);
   CREATE INDEX IF NOT EXISTS grants_by_owner ON grants (owner, expires_at);
   CREATE INDEX IF NOT EXISTS grants_by_expiry ON grants (expires_at);`,
  // 6: the narrow heartbeat table (hot.ts): a Device's last_seen and ip_address, the two values every heartbeat
  // writes, leave the generic property rows for one small row per device; the existing rows move here.
  // rowid = the Device's oid. An unchanged ip_address is never rewritten, so its index costs a beat nothing.
  // IF NOT EXISTS: as for grants (5), a store taken back to an older layout by hand keeps the table.
  `CREATE TABLE IF NOT EXISTS device_beats (
     oid INTEGER PRIMARY KEY,
     last_seen TEXT,
     ip_address TEXT
   );
   CREATE INDEX IF NOT EXISTS device_beats_ip ON device_beats (ip_address) WHERE ip_address IS NOT NULL;
   INSERT INTO device_beats (oid, last_seen, ip_address)
     SELECT oid, max(CASE name WHEN 'last_seen' THEN value END), max(CASE name WHEN 'ip_address' THEN value END)
     FROM props WHERE class = 'Device' AND ns = '' AND name IN ('last_seen', 'ip_address') GROUP BY oid;
   DELETE FROM props WHERE class = 'Device' AND ns = '' AND name IN ('last_seen', 'ip_address');`,
];
