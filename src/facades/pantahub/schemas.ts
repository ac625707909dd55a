/**
 * The Pantahub paths' shapes: the zod schemas of what a client sends (checked
 * by the kit) and of what each path answers, and who may call it, for the API
 * reference (src/api-reference). The handlers build their replies with
 * replies.ts; test/pantahub-reference.test.ts checks real replies against these.
 */
import { z } from 'zod';
import type { RouteDoc } from '../../api-reference/declaration.js';

export const meta = z
  .record(z.string().max(256), z.json())
  .refine((m) => JSON.stringify(m).length <= 65536, 'at most 64 KiB of JSON')
  .describe('A JSON object (at most 64 KiB)');

export const idParams = z.object({ id: z.string().max(64).describe('24 lowercase hex') });
export const secret = z.string().min(1).max(1024);
export const nick = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, _ . and - (at most 64), starting with a letter or digit');

/** The seed's error body. */
export const errorBody = z.object({ Error: z.string() });

const rfc3339 = z.string().describe('RFC 3339, UTC');

export const deviceReply = z.object({
  challenge: z.string().optional().describe('Only to the device itself, and in the replies of registration and claim; "" once owned'),
  'device-meta': z.record(z.string(), z.unknown()),
  id: z.string().regex(/^[0-9a-f]{24}$/),
  nick: z.string(),
  owner: z.string().describe('prn:pantahub.com:auth:/<user>, or "" while unclaimed'),
  prn: z.string().describe('prn:::devices:/<id>'),
  public: z.boolean(),
  secret: z.string().optional().describe('Only in the reply of the request that set it'),
  'time-created': rfc3339,
  'time-modified': rfc3339,
  'user-meta': z.record(z.string(), z.unknown()),
});

export const tokenReply = z.object({
  'default-user-meta': z.record(z.string(), z.unknown()),
  disabled: z.boolean(),
  'expires-at': rfc3339.nullable().describe('null: never'),
  id: z.string().regex(/^[0-9a-f]{24}$/),
  'max-uses': z.number().int().nullable().describe('null: no bound'),
  nick: z.string(),
  owner: z.string(),
  prn: z.string().describe('prn:::devices-tokens:/<id>'),
  'time-created': rfc3339,
  'time-modified': rfc3339,
  token: z.string().optional().describe('Only in the reply of POST /devices/tokens'),
  uses: z.number().int(),
});

export const metaReply = z.record(z.string(), z.unknown());
export const loginReply = z.object({ token: z.string() });
export const statusReply = z.object({ status: z.literal('OK') });

/** A Pantahub route's reference entry: its reply and its own errors, always in the `{"Error": ...}` body (its caller is its kit level). */
export function pantahubDoc(summary: string, reply: z.ZodType, errors: Record<number, string> = {}): RouteDoc {
  return { summary, reply, errors, errorBody };
}

/** The errors of every path that names a device. */
export const DEVICE_ERRORS = { 400: 'Invalid device id (not 24 lowercase hex), or a query or body that does not match its schema', 404: 'No device with this id that the caller may see (an unknown id and another owner\'s private device alike)' };
