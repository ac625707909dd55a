/**
 * Stored rows for properties a schema gained. CREATE stores a row for every
 * property of the new object (its default when not given), and FIND matches
 * stored rows: after an `extend` adds a property, the objects created before
 * it lack its row. At start, planDefaults() (one read when the schema is
 * unchanged) names the properties whose defaults are not stored yet; the
 * store treats a missing row of those as the default (Store.defaultsUnstored),
 * and storeDefaults() fills the rows in the background, a window of oids per
 * group commit, so a start does not wait for a large store. The properties
 * whose rows are complete are remembered in the settings table; a fill cut
 * short by a stop resumes at the next start.
 *
 * Both backends, through the asynchronous port (the plan in one transaction,
 * each window a Writer job). On a shared database one node fills at a time
 * (the job `schema-defaults`, tryExclusive): a node that finds another filling
 * skips, and keeps treating a missing row as the default until it restarts
 * (its answers are the same either way).
 *
 * Derived properties (schema `derivedFrom`) are never stored: rows a store
 * kept for one before it became derived are dropped, so no stale copy remains.
 */
import type { AsyncObjectWrites, AsyncStoreBackend, TxHandle } from './async-port.js';
import type { PropertyDef, Schema } from '../schema/types.js';
import type { Writer } from './writer.js';

export const KNOWN_PROPERTIES_KEY = 'schema.properties';

export interface UnstoredDefault {
  /** `Class.name` or `Class.Namespace.name`. */
  key: string;
  cls: string;
  ns: string;
  prop: PropertyDef;
}

/** Objects per transaction of the fill: a short write between the daemon's own. */
const FILL_WINDOW = 5000;
/** The fill's name among the jobs run once across nodes. */
const FILL_JOB = 'schema-defaults';

/**
 * Drops the rows of newly derived properties and names the properties whose
 * default rows may be missing. A class without objects needs none: its
 * properties count as stored at once.
 */
export function planDefaults(backend: Pick<AsyncStoreBackend, 'transaction'>, schema: Schema): Promise<UnstoredDefault[]> {
  return backend.transaction(async ({ objects, defaults }) => {
    const stored = await objects.setting(KNOWN_PROPERTIES_KEY);
    const known = new Set<string>(stored === undefined ? [] : (JSON.parse(stored) as string[]));
    const current: string[] = [];
    const unstored: UnstoredDefault[] = [];
    for (const cls of schema.classes.values()) {
      let empty: boolean | undefined;
      for (const ns of cls.namespaces.values()) {
        for (const prop of ns.properties.values()) {
          // Write-only values (passwords) live in the credentials table, never as rows.
          if (prop.writeOnly) continue;
          const key = [cls.name, ns.name, prop.name].filter((part) => part !== '').join('.');
          if (prop.derived) {
            // Known as stored: its rows go once (a derived property is remembered under its own mark).
            if (!known.has(`${key}=derived`)) await defaults.dropProperty(cls.name, ns.name, prop.name);
            current.push(`${key}=derived`);
          } else if (known.has(key) || (empty ??= (await objects.classCount(cls.name)) === 0)) {
            current.push(key);
          } else {
            unstored.push({ key, cls: cls.name, ns: ns.name, prop });
          }
        }
      }
    }
    await writeKnown(objects, current);
    return unstored;
  });
}

/**
 * Stores the missing default rows of each property, in windows of oids through
 * the writer (upkeep: it goes on while writes are suspended), then records the
 * property as stored and tells `done`. Stops between windows once `stop()` says so,
 * or once another node may have taken the job over. Nothing when another node fills.
 */
export async function storeDefaults(
  backend: Pick<AsyncStoreBackend, 'tryExclusive'>,
  writer: Writer,
  unstored: readonly UnstoredDefault[],
  done: (u: UnstoredDefault, rows: number) => void,
  stop: () => boolean = () => false,
): Promise<void> {
  await backend.tryExclusive(FILL_JOB, async (lost) => {
    for (const u of unstored) {
      let rows = 0;
      for (let from = 0; ; ) {
        if (stop() || lost.aborted) return;
        const [end, filled] = await writer.maintenance(async ({ defaults }) => {
          const end = await defaults.windowEnd(u.cls, from, FILL_WINDOW - 1);
          return [end, await insert(defaults, u, from, end)] as const;
        });
        rows += filled;
        if (end === undefined) break;
        from = end;
      }
      await writer.maintenance((w) => known(w, u));
      done(u, rows);
    }
  });
}

/** The same at once, in one transaction (the console, which serves nobody meanwhile); nothing when a node fills. */
export async function storeDefaultsNow(
  backend: Pick<AsyncStoreBackend, 'tryExclusive' | 'transaction'>,
  unstored: readonly UnstoredDefault[],
  done: (u: UnstoredDefault, rows: number) => void,
): Promise<void> {
  if (unstored.length === 0) return;
  const job = await backend.tryExclusive(FILL_JOB, () =>
    backend.transaction(async (tx) => {
      const rows: number[] = [];
      for (const u of unstored) {
        rows.push(await insert(tx.defaults, u, 0, undefined));
        await known(tx, u);
      }
      return rows;
    }),
  );
  if (job.ran) unstored.forEach((u, i) => done(u, job.value[i]!));
}

function insert(defaults: TxHandle['defaults'], u: UnstoredDefault, from: number, end: number | undefined): Promise<number> {
  return defaults.fill(u.cls, u.ns, u.prop.name, u.prop.default, from, end ?? Number.MAX_SAFE_INTEGER);
}

/** Records `u` among the properties whose defaults are stored. */
async function known({ objects }: Pick<TxHandle, 'objects'>, u: UnstoredDefault): Promise<void> {
  const stored = await objects.setting(KNOWN_PROPERTIES_KEY);
  await writeKnown(objects, [...new Set([...(JSON.parse(stored ?? '[]') as string[]), u.key])], stored);
}

async function writeKnown(objects: AsyncObjectWrites, keys: string[], stored?: string): Promise<void> {
  const next = JSON.stringify([...keys].sort());
  if (next !== (stored ?? (await objects.setting(KNOWN_PROPERTIES_KEY)))) await objects.putSetting(KNOWN_PROPERTIES_KEY, next);
}
