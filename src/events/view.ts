/**
 * What a reader may learn of a change: the change as the protocol shows it
 * (EVENT's `events`, the data of a /v2/events `change`), cut down to what the
 * reader's read ACLs allow. A non-admin never learns the name of a secret or
 * write-only property, nor of one its readacl hides on that object; a change
 * of which nothing readable is left is not shown at all.
 */
import type { Change } from '../store/changes.js';
import type { AclSubject, NamespaceDef, Schema } from '../schema/types.js';

/** One change as a reader receives it. Ids and oids are strings, as everywhere in the protocol. */
export interface EventData {
  id: string;
  oid: string;
  class: string;
  namespace: string;
  properties: string[];
  created: boolean;
  destroyed: boolean;
  /** When its transaction committed, ISO 8601 UTC. */
  time: string;
}

/** Which changes a reader asked for (each absent = any). */
export interface EventFilter {
  class?: string;
  oid?: number;
  namespace?: string;
}

export function matches(f: EventFilter, c: Change): boolean {
  return (f.class === undefined || f.class === c.class) && (f.oid === undefined || f.oid === c.oid) && (f.namespace === undefined || f.namespace === c.ns);
}

/** The change as `subject` may see it, or undefined when it may see nothing of it. */
export function eventView(schema: Schema, subject: AclSubject, c: Change): EventData | undefined {
  let props = c.props;
  if (!subject.admin) {
    const nsDef = schema.classes.get(c.class)?.namespaces.get(c.ns);
    // A class or namespace the schema no longer has: nothing to check the names against.
    if (nsDef === undefined || !anyReadable(nsDef, subject, c.oid)) return undefined;
    props = props.filter((name) => {
      const p = nsDef.properties.get(name);
      return p !== undefined && !p.secret && !p.writeOnly && p.readacl(subject, c.oid);
    });
    if (props.length === 0 && !c.created && !c.destroyed) return undefined;
  }
  return {
    id: String(c.id),
    oid: String(c.oid),
    class: c.class,
    namespace: c.ns,
    properties: props,
    created: c.created,
    destroyed: c.destroyed,
    time: new Date(c.at).toISOString(),
  };
}

/** May the subject read anything of this namespace of the object (is the object visible to it at all)? */
function anyReadable(nsDef: NamespaceDef, subject: AclSubject, oid: number): boolean {
  for (const p of nsDef.properties.values()) if (!p.secret && !p.writeOnly && p.readacl(subject, oid)) return true;
  return false;
}

/**
 * One SSE frame. `json` never holds a line break (JSON.stringify escapes
 * them), so it is one `data:` line.
 */
export const frame = (id: string, event: 'change' | 'reset', json: string): string => `id: ${id}\nevent: ${event}\ndata: ${json}\n\n`;

/**
 * One page as every live stream sees it, shared by them all: each change is
 * cut to a view and framed once per kind of reader (every administrator sees
 * the same), and an unfiltered stream's whole text once per kind, not once
 * per stream (at 100 streams the per-stream work cost the writers more than
 * the writes).
 */
export class PageViews {
  private readonly frames = new Map<string, (string | null)[]>();
  private readonly whole = new Map<string, string>();

  constructor(
    private readonly schema: Schema,
    private readonly changes: readonly Change[],
  ) {}

  text(viewKey: string, subject: AclSubject, filter: EventFilter): string {
    const unfiltered = filter.class === undefined && filter.oid === undefined && filter.namespace === undefined;
    if (unfiltered) {
      const known = this.whole.get(viewKey);
      if (known !== undefined) return known;
    }
    let framed = this.frames.get(viewKey);
    if (framed === undefined) {
      framed = this.changes.map((c) => {
        const e = eventView(this.schema, subject, c);
        return e === undefined ? null : frame(e.id, 'change', JSON.stringify(e));
      });
      this.frames.set(viewKey, framed);
    }
    let text = '';
    for (let i = 0; i < this.changes.length; i++) if (framed[i] !== null && (unfiltered || matches(filter, this.changes[i]!))) text += framed[i];
    if (unfiltered) this.whole.set(viewKey, text);
    return text;
  }
}
