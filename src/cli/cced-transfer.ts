/**
 * `cced export [FILE] [--with-secrets]` and `cced import FILE`: a store as JSON lines and back, with every
 * reference kept.
 *
 * The export is a header line, then every object (soft-deleted ones too: references may name them) in oid
 * order, then the device events; with --with-secrets also the stored password and token hashes, and then
 * only into a file created 0600. An export from before the header existed (object lines only) imports too.
 *
 * The import creates every object through the store's rules (types, uniqueness, references by name), in
 * one transaction: all or nothing. It reads the file as a stream, once to check every line and once per
 * reference rank of the classes it holds, so it holds one line at a time, whatever the file's size. Into
 * an empty store the oids are kept; into a store that has objects they are remapped consistently: System
 * is merged into oid 1, an object whose unique property (a User's name, a DeviceType's name) matches one
 * already there is merged into it, the others get new oids, and every oid-valued property, device event
 * and hash follows its object.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { SYSTEM, type StoreTx } from '../store/store.js';
import type { OpenStore } from '../store/open.js';
import { oidReferences, referenceRanks } from '../store/references.js';
import { Refusal, withStore, type Console } from './cced-context.js';
import { EXPORT_FORMAT, exportObjects, readExport, type ObjectLine } from './export-file.js';

/** A progress line on stderr every this many objects. */
const PROGRESS_EVERY = 10_000;
/** Bytes of lines gathered before one write: an export holds this much, whatever the store's size. */
const WRITE_CHUNK = 1 << 16;

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

/** What a first reading of an export file finds: its format, how many objects, and the classes they are of. */
interface ExportSummary {
  format: number;
  objects: number;
  classes: Set<string>;
}

/** Reads the whole file once, checking every line, before anything is written. */
async function summarize(file: string): Promise<ExportSummary> {
  const out: ExportSummary = { format: 1, objects: 0, classes: new Set() };
  for await (const l of readExport(file)) {
    if ('format' in l) out.format = l.format;
    else if ('oid' in l) {
      out.objects++;
      out.classes.add(l.class);
    }
  }
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

/**
 * The import, inside one transaction (`tx`): all or nothing. System first (it is oid 1), then referenced
 * classes before the classes that name them: one reading of the file per rank, each in the file's order
 * (an export's is oid order). A last reading sets the oid-valued properties, once every object has its
 * final oid, and adds the events and hashes.
 */
async function importAll(s: OpenStore, tx: StoreTx, file: string, summary: ExportSummary, progress: (done: number) => void): Promise<ImportResult> {
  const keep = (await tx.count()) === 0;
  const ranks = referenceRanks(s.store.schema);
  const rankOf = (cls: string) => (cls === 'System' ? -1 : ranks.get(cls) ?? 0);
  // Properties whose value is another object's oid (schema references by oid): they follow their target.
  const byOid = oidReferences(s.store.schema);
  const isOidProperty = (cls: string, name: string) => byOid.get(cls)?.has(name) === true;
  // Into an empty store every object is created at its export oid: no map of the objects. Otherwise export
  // oid -> oid in the store, for every object.
  let top = 0;
  const oidOf = new Map<number, number>();
  let created = 0;
  let merged = 0;
  let done = 0;
  for (const rank of [...new Set([...summary.classes].map(rankOf))].sort((x, y) => x - y)) {
    for await (const o of exportObjects(file)) {
      if (rankOf(o.class) !== rank) continue;
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
        oid = await tx.create(SYSTEM, o.class, values, keep ? { at: o.oid } : {});
        created++;
      }
      for (const [ns, v] of Object.entries(named)) await tx.set(SYSTEM, oid, ns, writable(s, o.class, ns, v));
      if (!keep) oidOf.set(o.oid, oid);
      else if (o.oid > top) top = o.oid;
      if (++done % PROGRESS_EVERY === 0) progress(done);
    }
  }
  const dangling: string[] = [];
  if (top > 0) await tx.w.transfer.reserveOids(top);
  // With the oids kept, an export oid names an object of the store exactly when it named one of the export.
  const finalOid = async (old: number) => (keep ? ((await tx.exists(old)) ? old : undefined) : oidOf.get(old));
  for await (const l of readExport(file)) {
    if ('oid' in l) {
      for (const [name, value] of Object.entries(l.namespaces[''] ?? {})) {
        if (!isOidProperty(l.class, name) || value === '') continue;
        const target = await finalOid(Number(value));
        if (target === undefined) dangling.push(`${l.class} ${l.oid} ${name}=${value}`);
        else await tx.set(SYSTEM, keep ? l.oid : oidOf.get(l.oid)!, '', { [name]: String(target) });
      }
    } else if ('event' in l) {
      const device = await finalOid(l.event.device_oid);
      if (device !== undefined) await tx.w.transfer.addEvent(device, l.event);
    } else if ('credential' in l) {
      const oid = await finalOid(l.credential.oid);
      if (oid !== undefined) await tx.w.transfer.putCredential({ ...l.credential, oid });
    }
  }
  return { created, merged, kept: keep, dangling };
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
        const summary = await summarize(file);
        // In bulk: what every write keeps for its COMMIT, a million times over, would be the import's memory.
        const r = await s.writer.submitBulk((w) => importAll(s, s.store.at(w), file, summary, (n) => c.io.info?.(`cced: ${n} of ${summary.objects} objects imported\n`)));
        for (const d of r.dangling) c.io.err(`cced: ${d} named no object of the export; imported as ''\n`);
        const how = summary.format === EXPORT_FORMAT ? '' : ` (an export of format ${summary.format})`;
        c.io.info?.(`cced: ${r.kept ? 'the store was empty: oids kept' : `${r.created} created, ${r.merged} merged into existing ones`}${how}\n`);
        c.io.out(`imported ${summary.objects} objects\n`);
      }),
    );
}
