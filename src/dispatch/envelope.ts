/**
 * The request envelope of POST /v2/cce. Unknown fields are ignored (clients
 * send extras such as an empty "oid" next to a full command line); known ones
 * must have the right type, else 403 BAD PARAMETERS.
 */
import { z } from 'zod';

const MAX_FIELD = 64 * 1024;
const str = z.string().max(MAX_FIELD);
const jsonScalar = z.union([str, z.number(), z.boolean()]);
const argValue = z.union([jsonScalar, z.array(jsonScalar).max(10_000)]);
const oid = z.union([str, z.number().int().nonnegative()]).transform(String);

export const envelopeSchema = z.object({
  cmd: z.string().trim().min(1, 'cmd is empty').max(MAX_FIELD),
  user: str.optional(),
  password: str.optional(),
  sessionid: str.optional(),
  token: str.optional(),
  oid: oid.optional(),
  namespace: str.optional(),
  class: str.optional(),
  args: z.record(str, argValue).optional(),
  regex_args: z.record(str, str).optional(),
  sorttype: str.optional(),
  sortprop: str.optional(),
  oids: z.array(oid).max(100_000).optional(),
  reason: str.optional(),
  oldpassword: str.optional(),
  format: z.enum(['cce', 'json']).optional(),
  /** The cursor of a truncated FIND, FINDX or GETALL reply (src/dispatch/paging.ts). */
  after: str.optional(),
  // EVENT (commands/EVENT.ts checks their values).
  since: z.union([str, z.number()]).optional(),
  limit: z.union([str, z.number()]).optional(),
  wait: z.union([str, z.number()]).optional(),
});

export type Envelope = z.output<typeof envelopeSchema>;

/** The first problem of a bad envelope, for the 403 message. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const where = issue.path.length ? issue.path.join('.') + ': ' : '';
  return `${where}${issue.message}`;
}
