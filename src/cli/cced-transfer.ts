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
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { SYSTEM, type StoreTx } from '../store/store.js';
import type { OpenStore } from '../store/open.js';
import { oidReferences, referenceRanks } from '../store/references.js';
import { keepOids } from '../store/transfer.js';
import { Refusal, withStore, type Console } from './cced-context.js';

/** The export format this cced writes; 1 is the header-less format of earlier releases. */
export const EXPORT_FORMAT = 2;

/** A progress line on stderr every this many objects. */
const PROGRESS_EVERY = 10_000;
/** Bytes of lines gathered before one write: an export holds this much, whatever the store's size. */
const WRITE_CHUNK = 1 << 16;

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

/**
 * Writes every line of an export to `sink`, one object at a time, from one
 * state of the store (a read transaction: the daemon keeps writing meanwhile).
 * Returns how many objects it wrote.
 */
async function exportLines(s: OpenStore, withSecrets: boolean, sink: (line: string) => void, progress: (done: number, of: number) => void): Promise<number> {
  const layout = await s.transfer.layout();
  return s.transfer.snapshot(async ({ objects, transfer }) => {
    const total = await objects.count();
    sink(JSON.stringify({ cced_export: EXPORT_FORMAT, layout, with_secrets: withSecrets, objects: total }));
    let done = 0;
    for await (const o of transfer.objects()) {
      if (done > 0 && done % PROGRESS_EVERY === 0) progress(done, total);
      const namespaces: Record<string, Record<string, string>> = {};
      for (const p of await transfer.properties(o.oid)) {
        if (withSecrets || !isSecret(s, o.className, p.ns, p.name)) (namespaces[p.ns] ??= {})[p.name] = p.value;
      }
      sink(JSON.stringify({ oid: o.oid, class: o.className, namespaces }));
      done++;
    }
    for await (const e of transfer.events()) sink(JSON.stringify({ event: e }));
    if (withSecrets) for await (const c of transfer.credentials()) sink(JSON.stringify({ credential: c }));
    return done;
  });
}

/** Lines gathered into chunks of about WRITE_CHUNK bytes for `write`; flush() writes the rest. */
function chunked(write: (text: string) => void): { line: (l: string) => void; flush: () => void } {
  let parts: string[] = [];
  let size = 0;
  const flush = () => {
    if (parts.length) write(parts.join(''));
    parts = [];
    size = 0;
  };
  return {
    line(l) {
      parts.push(l, '\n');
      size += l.length + 1;
      if (size >= WRITE_CHUNK) flush();
    },
    flush,
  };
}

/** Creates FILE owner-only (never over an existing one) and writes the export into it as it is read. */
async function exportToFile(s: OpenStore, file: string, withSecrets: boolean, progress: (done: number, of: number) => void): Promise<number> {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    throw new Refusal(`${file} exists: an export is written to a new file only (created 0600)`);
  }
  try {
    const out = chunked((text) => writeSync(fd, text));
    const objects = await exportLines(s, withSecrets, out.line, progress);
    out.flush();
    return objects;
  } finally {
    closeSync(fd);
  }
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


/** Write-only values (passwords) never travel as properties, only their hashes as credential lines. */
function writable(s: OpenStore, cls: string, ns: string, values: Record<string, string>): Record<string, string> {
  const nsDef = s.store.namespaceDef(s.store.classDef(cls), ns);
  return Object.fromEntries(Object.entries(values).filter(([k]) => !nsDef.properties.get(k)?.writeOnly));
}

/** The object already in the store an imported one is merged into, if any. */
async function mergeTarget(tx: StoreTx, o: ObjectLine): Promise<number | undefined> {
  if (o.class === 'System') return (await tx.exists(1)) && (await tx.objectClass(1)).name === 'System' ? 1 : undefined;
  const main = tx.namespaceDef(tx.classDef(o.class), '');
  for (const p of main.properties.values()) {
    const value = o.namespaces['']?.[p.name];
    if (p.unique && value) {
      const found = await tx.findOne(o.class, '', p.name, value);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

interface ImportResult {
  created: number;
  merged: number;
  kept: boolean;
  dangling: string[];
}

/** The import, inside one transaction (`tx`): all or nothing. */
async function importAll(s: OpenStore, tx: StoreTx, data: ExportFile, progress: (done: number) => void): Promise<ImportResult> {
  const keep = (await tx.count()) === 0;
  const rank = referenceRanks(s.store.schema);
  // Properties whose value is another object's oid (schema references by oid): they follow their target.
  const byOid = oidReferences(s.store.schema);
  const isOidProperty = (cls: string, name: string) => byOid.get(cls)?.has(name) === true;
  // System first (it is oid 1), then referenced classes before the classes that name them, each in oid order.
  const order = [...data.objects].sort(
    (x, y) => Number(y.class === 'System') - Number(x.class === 'System') || (rank.get(x.class) ?? 0) - (rank.get(y.class) ?? 0) || x.oid - y.oid,
  );
  const oidOf = new Map<number, number>();
  const created = new Map<number, number>();
  let merged = 0;
  for (const [i, o] of order.entries()) {
    const { '': main = {}, ...named } = o.namespaces;
    // An oid-valued property is written once every object has its final oid (below): its target must exist then.
    const values = Object.fromEntries(Object.entries(writable(s, o.class, '', main)).map(([k, v]) => [k, isOidProperty(o.class, k) ? '' : v]));
    const into = keep ? undefined : await mergeTarget(tx, o);
    let oid: number;
    if (into !== undefined) {
      await tx.set(SYSTEM, into, '', values);
      oid = into;
      merged++;
    } else {
      oid = await tx.create(SYSTEM, o.class, values);
      created.set(o.oid, oid);
    }
    for (const [ns, v] of Object.entries(named)) await tx.set(SYSTEM, oid, ns, writable(s, o.class, ns, v));
    oidOf.set(o.oid, oid);
    if ((i + 1) % PROGRESS_EVERY === 0) progress(i + 1);
  }
  const dangling: string[] = [];
  if (keep) {
    await keepOids(tx.w, created);
    for (const old of oidOf.keys()) oidOf.set(old, old);
  }
  for (const o of data.objects) {
    for (const [name, value] of Object.entries(o.namespaces[''] ?? {})) {
      if (!isOidProperty(o.class, name) || value === '') continue;
      const target = oidOf.get(Number(value));
      if (target === undefined) dangling.push(`${o.class} ${o.oid} ${name}=${value}`);
      else await tx.set(SYSTEM, oidOf.get(o.oid)!, '', { [name]: String(target) });
    }
  }
  for (const e of data.events) {
    const device = oidOf.get(e.device_oid);
    if (device !== undefined) await tx.w.transfer.addEvent(device, e);
  }
  for (const c of data.credentials) {
    const oid = oidOf.get(c.oid);
    if (oid !== undefined) await tx.w.transfer.putCredential({ ...c, oid });
  }
  return { created: created.size, merged, kept: keep, dangling };
}

export function transferCommands(program: Command, c: Console): void {
  program
    .command('export [file]')
    .description('write every object and the device events as JSON lines (to a new FILE, created 0600, else stdout); secrets and hashes only with --with-secrets')
    .option('--with-secrets', 'also export secret properties (device tokens) and password hashes (needs FILE)')
    .action((file: string | undefined, o: { withSecrets?: boolean }) =>
      withStore(c, async (s) => {
        if (o.withSecrets && !file) throw new Refusal('--with-secrets writes to a file only (cced export FILE --with-secrets): hashes never go to a terminal or a pipe');
        const progress = (done: number, of: number) => c.io.info?.(`cced: ${done} of ${of} objects exported\n`);
        if (!file) {
          const out = chunked(c.io.out);
          await exportLines(s, o.withSecrets === true, out.line, progress);
          return out.flush();
        }
        const objects = await exportToFile(s, file, o.withSecrets === true, progress);
        c.io.out(`exported ${objects} objects to ${file}${o.withSecrets ? ', secrets and password hashes included' : ''}\n`);
      }),
    );

  program
    .command('import <file>')
    .description('create the objects of an export, keeping every reference (the oids too when the store is empty); all or nothing')
    .action((file: string) =>
      withStore(c, async (s) => {
        const data = parseExport(file);
        const r = await s.writer.submit((w) => importAll(s, s.store.at(w), data, (n) => c.io.info?.(`cced: ${n} of ${data.objects.length} objects imported\n`)));
        for (const d of r.dangling) c.io.err(`cced: ${d} named no object of the export; imported as ''\n`);
        const how = data.format === EXPORT_FORMAT ? '' : ` (an export of format ${data.format})`;
        c.io.info?.(`cced: ${r.kept ? 'the store was empty: oids kept' : `${r.created} created, ${r.merged} merged into existing ones`}${how}\n`);
        c.io.out(`imported ${data.objects.length} objects\n`);
      }),
    );
}
