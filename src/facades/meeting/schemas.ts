/** zod schemas shared by the Meeting paths. Types and lengths of stored values are the store's to check. */
import { z } from 'zod';

/** A device key as it appears in a path; whether it names a device is the store's answer (404). */
export const keyParams = z.object({ key: z.string().min(1).max(128) });

/** A non-empty string field of a body. */
export const text = (max = 4096) => z.string().min(1).max(max);

/** 0/1 as the document writes them, or JSON booleans. */
export const flag = z.union([z.literal(0), z.literal(1), z.boolean()]).transform((v) => (v === true || v === 1 ? 1 : 0));
