/**
 * `cced export [FILE] [--with-secrets]` and `cced import FILE`: a store as JSON lines and back, with every
 * reference kept.
 *
 * The export is a header line, then every object (soft-deleted ones too: references may name them) in oid
 * order, then the device events; with --with-secrets also the stored password and token hashes, and then
 * only into a file created 0600. An export from before the header existed (object lines only) imports too.
 *
 * The import creates every object through the store's rules (types, uniqueness, references by name), in
 * one transaction: all or nothing. Into an empty store the oids are kept; into a store that has objects
 * they are remapped consistently: System is merged into oid 1, an object whose unique property (a User's
 * name, a DeviceType's name) matches one already there is merged into it, the others get new oids, and
 * every oid-valued property, device event and hash follows its object.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { SYSTEM } from '../store/store.js';
import type { OpenStore } from '../store/open.js';
import { referenceRanks } from '../store/references.js';
import { MIGRATIONS } from '../store/migrations.js';
import { Refusal, withStore, type Console } from './cced-context.js';

/** The export format this cced writes; 1 is the header-less format of earlier releases. */
export const EXPORT_FORMAT = 2;

/** A progress line on stderr every this many objects. */
const PROGRESS_EVERY = 10_000;

/** Properties whose value is the oid of another object: they follow their target through a remap. */
export const OID_PROPERTIES: readonly { class: string; name: string }[] = [{ class: 'DeviceType', name: 'forked_from' }];

const header = z.strictObject({
  cced_export: z.number().int().min(2).max(EXPORT_FORMAT),
  layout: z.number().int().min(0),
  with_secrets: z.boolean(),
  objects: z.number().int().min(0),
});
const objectLine = z.strictObject({
  oid: z.number().int().positive(),
  class: z.string(),
  namespaces: z.record(z.string(), z.record(z.string(), z.string())),
});
const eventLine = z.strictObject({
  event: z.strictObject({ device_oid: z.number().int().positive(), at: z.number().int(), event: z.string(), host: z.string(), remote: z.string() }),
});
const credentialLine = z.strictObject({
  credential: z.strictObject({ oid: z.number().int().positive(), name: z.string(), hash: z.string(), updated_at: z.number().int() }),
});
const line = z.union([objectLine, eventLine, credentialLine]);

type ObjectLine = z.infer<typeof objectLine>;
type EventRow = z.infer<typeof eventLine>['event'];
type CredentialRow = z.infer<typeof credentialLine>['credential'];

interface ExportFile {
  format: number;
  objects: ObjectLine[];
  events: EventRow[];
  credentials: CredentialRow[];
}

/** A property the schema marks secret (a device token): exported only with --with-secrets. */
function isSecret({ store }: OpenStore, cls: string, ns: string, name: string): boolean {
  try {
    return store.propertyDef(store.classDef(cls), ns, name).secret;
  } catch {
    return false; // a property the schema no longer has: carried as it is, the import decides
  }
}

/** Every line of an export, as JSON. */
function exportLines(s: OpenStore, withSecrets: boolean, progress: (done: number, of: number) => void): string[] {
  const { db } = s;
  const objects = db.prepare('SELECT oid, class FROM objects ORDER BY oid').all() as { oid: number; class: string }[];
  const props = db.prepare('SELECT ns, name, value FROM props WHERE oid = ? ORDER BY ns, name');
  const lines = [JSON.stringify({ cced_export: EXPORT_FORMAT, layout: MIGRATIONS.length, with_secrets: withSecrets, objects: objects.length })];
  for (const [i, o] of objects.entries()) {
    if (i > 0 && i % PROGRESS_EVERY === 0) progress(i, objects.length);
    const namespaces: Record<string, Record<string, string>> = {};
    for (const p of props.all(o.oid) as { ns: string; name: string; value: string }[]) {
      if (withSecrets || !isSecret(s, o.class, p.ns, p.name)) (namespaces[p.ns] ??= {})[p.name] = p.value;
    }
    lines.push(JSON.stringify({ oid: o.oid, class: o.class, namespaces }));
  }
  for (const e of db.prepare('SELECT device_oid, at, event, host, remote FROM device_events ORDER BY id').all()) lines.push(JSON.stringify({ event: e }));
  if (withSecrets) {
    for (const c of db.prepare('SELECT oid, name, hash, updated_at FROM credentials ORDER BY oid, name').all()) lines.push(JSON.stringify({ credential: c }));
  }
  return lines;
}

function parseExport(file: string): ExportFile {
  const text = readFileSync(file, 'utf8');
  const out: ExportFile = { format: 1, objects: [], events: [], credentials: [] };
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      throw new Refusal(`${file}:${i + 1}: not JSON`);
    }
    if (i === 0 && typeof json === 'object' && json !== null && 'cced_export' in json) {
      const h = header.safeParse(json);
      if (!h.success) throw new Refusal(`${file}:1: not an export this cced reads (${h.error.issues[0]!.message})`);
      out.format = h.data.cced_export;
      return;
    }
    const r = line.safeParse(json);
    if (!r.success) throw new Refusal(`${file}:${i + 1}: ${r.error.issues[0]!.message}`);
    if ('oid' in r.data) out.objects.push(r.data);
    else if ('event' in r.data) out.events.push(r.data.event);
    else out.credentials.push(r.data.credential);
  });
  return out;
}

const isOidProperty = (cls: string, name: string) => OID_PROPERTIES.some((p) => p.class === cls && p.name === name);

/** Write-only values (passwords) never travel as properties, only their hashes as credential lines. */
function writable(s: OpenStore, cls: string, ns: string, values: Record<string, string>): Record<string, string> {
  const nsDef = s.store.namespaceDef(s.store.classDef(cls), ns);
  return Object.fromEntries(Object.entries(values).filter(([k]) => !nsDef.properties.get(k)?.writeOnly));
}

/** The object already in the store an imported one is merged into, if any. */
function mergeTarget(s: OpenStore, o: ObjectLine): number | undefined {
  if (o.class === 'System') return s.store.exists(1) && s.store.objectClass(1).name === 'System' ? 1 : undefined;
  const main = s.store.namespaceDef(s.store.classDef(o.class), '');
  for (const p of main.properties.values()) {
    const value = o.namespaces['']?.[p.name];
    if (p.unique && value) {
      const found = s.store.findOne(o.class, '', p.name, value);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** Moves freshly created objects to the oids they had in the export (the store was empty, so none is taken). */
function keepOids(s: OpenStore, created: ReadonlyMap<number, number>): void {
  const tables = ['objects', 'props', 'credentials'];
  const park = tables.map((t) => s.db.prepare(`UPDATE ${t} SET oid = ? WHERE oid = ?`));
  for (const [old, now] of created) if (old !== now) for (const st of park) st.run(-old, now);
  for (const t of tables) s.db.prepare(`UPDATE ${t} SET oid = -oid WHERE oid < 0`).run();
  const top = Math.max(0, ...created.keys());
  if (s.db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'objects' AND seq < ?").run(top, top).changes === 0) {
    s.db.prepare("INSERT INTO sqlite_sequence (name, seq) SELECT 'objects', ? WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'objects')").run(top);
  }
}

interface ImportResult {
  created: number;
  merged: number;
  kept: boolean;
  dangling: string[];
}

function importAll(s: OpenStore, data: ExportFile, progress: (done: number) => void): ImportResult {
  const keep = s.store.count() === 0;
  const rank = referenceRanks(s.store.schema);
  // System first (it is oid 1), then referenced classes before the classes that name them, each in oid order.
  const order = [...data.objects].sort(
    (x, y) => Number(y.class === 'System') - Number(x.class === 'System') || (rank.get(x.class) ?? 0) - (rank.get(y.class) ?? 0) || x.oid - y.oid,
  );
  const oidOf = new Map<number, number>();
  const created = new Map<number, number>();
  let merged = 0;
  order.forEach((o, i) => {
    const { '': main = {}, ...named } = o.namespaces;
    // An oid-valued property is written once every object has its oid (below), except when oids are kept.
    const values = Object.fromEntries(Object.entries(writable(s, o.class, '', main)).map(([k, v]) => [k, !keep && isOidProperty(o.class, k) ? '' : v]));
    const into = keep ? undefined : mergeTarget(s, o);
    let oid: number;
    if (into !== undefined) {
      s.store.set(SYSTEM, into, '', values);
      oid = into;
      merged++;
    } else {
      oid = s.store.create(SYSTEM, o.class, values);
      created.set(o.oid, oid);
    }
    for (const [ns, v] of Object.entries(named)) s.store.set(SYSTEM, oid, ns, writable(s, o.class, ns, v));
    oidOf.set(o.oid, oid);
    if ((i + 1) % PROGRESS_EVERY === 0) progress(i + 1);
  });
  const dangling: string[] = [];
  if (keep) {
    keepOids(s, created);
    for (const old of oidOf.keys()) oidOf.set(old, old);
  } else {
    for (const o of data.objects) {
      for (const [name, value] of Object.entries(o.namespaces[''] ?? {})) {
        if (!isOidProperty(o.class, name) || value === '') continue;
        const target = oidOf.get(Number(value));
        if (target === undefined) dangling.push(`${o.class} ${o.oid} ${name}=${value}`);
        s.store.set(SYSTEM, oidOf.get(o.oid)!, '', { [name]: target === undefined ? '' : String(target) });
      }
    }
  }
  const addEvent = s.db.prepare('INSERT INTO device_events (device_oid, at, event, host, remote) VALUES (?, ?, ?, ?, ?)');
  for (const e of data.events) {
    const device = oidOf.get(e.device_oid);
    if (device !== undefined) addEvent.run(device, e.at, e.event, e.host, e.remote);
  }
  const addCredential = s.db.prepare(
    'INSERT INTO credentials (oid, name, hash, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (oid, name) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at',
  );
  for (const c of data.credentials) {
    const oid = oidOf.get(c.oid);
    if (oid !== undefined) addCredential.run(oid, c.name, c.hash, c.updated_at);
  }
  return { created: created.size, merged, kept: keep, dangling };
}

export function transferCommands(program: Command, c: Console): void {
  program
    .command('export [file]')
    .description('write every object and the device events as JSON lines (to a new FILE, created 0600, else stdout); secrets and hashes only with --with-secrets')
    .option('--with-secrets', 'also export secret properties (device tokens) and password hashes (needs FILE)')
    .action((file: string | undefined, o: { withSecrets?: boolean }) =>
      withStore(c, (s) => {
        if (o.withSecrets && !file) throw new Refusal('--with-secrets writes to a file only (cced export FILE --with-secrets): hashes never go to a terminal or a pipe');
        const lines = exportLines(s, o.withSecrets === true, (done, of) => c.io.info?.(`cced: ${done} of ${of} objects exported\n`));
        const text = lines.map((l) => l + '\n').join('');
        const objects = s.db.prepare('SELECT count(*) AS n FROM objects').get() as { n: number };
        if (!file) return c.io.out(text);
        try {
          writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          throw new Refusal(`${file} exists: an export is written to a new file only (created 0600)`);
        }
        c.io.out(`exported ${objects.n} objects to ${file}${o.withSecrets ? ', secrets and password hashes included' : ''}\n`);
      }),
    );

  program
    .command('import <file>')
    .description('create the objects of an export, keeping every reference (the oids too when the store is empty); all or nothing')
    .action((file: string) =>
      withStore(c, async (s) => {
        const data = parseExport(file);
        const r = await s.writer.submit(() => s.writer.savepoint(() => importAll(s, data, (n) => c.io.info?.(`cced: ${n} of ${data.objects.length} objects imported\n`))));
        for (const d of r.dangling) c.io.err(`cced: ${d} named no object of the export; imported as ''\n`);
        const how = data.format === EXPORT_FORMAT ? '' : ` (an export of format ${data.format})`;
        c.io.info?.(`cced: ${r.kept ? 'the store was empty: oids kept' : `${r.created} created, ${r.merged} merged into existing ones`}${how}\n`);
        c.io.out(`imported ${data.objects.length} objects\n`);
      }),
    );
}
