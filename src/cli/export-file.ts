/**
 * The lines of a `cced export` file and their reading: one line at a time from
 * the file, so an import holds one object's line, never the file. The first
 * line is a header from format 2 on; format 1 (earlier releases) has object
 * lines only.
 */
import { createReadStream } from 'node:fs';
import { z } from 'zod';
import { Refusal } from './cced-context.js';

/** The export format this cced writes; 1 is the header-less format of earlier releases. */
export const EXPORT_FORMAT = 2;

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

export type ObjectLine = z.infer<typeof objectLine>;
export type ExportLine = z.infer<typeof line>;

/**
 * The lines of `file`, read a chunk at a time as they are asked for. (readline's async iterator reads on
 * while its consumer waits, so an import waiting on PostgreSQL gathered the whole file.)
 */
async function* linesOf(file: string): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8' })) {
    const lines = (rest + (chunk as string)).split('\n');
    rest = lines.pop()!;
    yield* lines;
  }
  if (rest !== '') yield rest;
}

/** The header's format (1 when there is none), then every other line of `file` in order, each checked. */
export async function* readExport(file: string): AsyncGenerator<{ format: number } | ExportLine> {
  let n = 0;
  for await (const raw of linesOf(file)) {
    n++;
    if (raw.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      throw new Refusal(`${file}:${n}: not JSON`);
    }
    if (n === 1) {
      if (typeof json === 'object' && json !== null && 'cced_export' in json) {
        const h = header.safeParse(json);
        if (!h.success) throw new Refusal(`${file}:1: not an export this cced reads (${h.error.issues[0]!.message})`);
        yield { format: h.data.cced_export };
        continue;
      }
      yield { format: 1 };
    }
    const r = line.safeParse(json);
    if (!r.success) throw new Refusal(`${file}:${n}: ${r.error.issues[0]!.message}`);
    yield r.data;
  }
}

/** The object lines of `file` alone. */
export async function* exportObjects(file: string): AsyncGenerator<ObjectLine> {
  for await (const l of readExport(file)) if ('oid' in l) yield l;
}
