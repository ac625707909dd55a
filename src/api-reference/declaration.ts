/**
 * What a route tells the API reference about itself, in fastify's route
 * config (`config.api`): the facade kit fills it from each declaration (its
 * access level's credential, the zod params/query/body), other routes by hand.
 * Kept here, below the facades, so the reference never imports a facade.
 */
import type { z } from 'zod';

/** Who may call a path, as the document says it. */
export interface Credential {
  /** OpenAPI security requirements over the schemes of document.ts (`bearer`, `deviceToken`, `sshToken`, `pantahubToken`; `{}` also lets in a caller without one); empty for anyone. */
  security: Record<string, []>[];
  /** How the credential can be refused: status to meaning. */
  errors: Record<number, string>;
  words: string;
}

export const ANYONE: Credential = { security: [], errors: {}, words: 'Anyone the gate lets in.' };

/** A success body that is not JSON: its media type (`''`: no body, as a 304 sends). */
export interface MediaReply {
  readonly media: string;
}

/** What a success status carries: a JSON body (its zod schema, checked strictly) or a media type. */
export type ReplyBody = z.ZodType | MediaReply;

/**
 * A refusal a path answers itself: its status and exact body (a JSON object,
 * or a string for a text/plain one). In a string, `{name}` stands for a part
 * that varies (a property's name, a list of extensions); everything else is
 * the exact text.
 */
export interface Refused {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>> | string;
}

export interface RouteDoc {
  summary?: string;
  /** Each success status with its body (a list when it has several, e.g. JSON or text by a query parameter). */
  replies?: Readonly<Record<number, ReplyBody | readonly ReplyBody[]>>;
  /** The refusals this path answers itself, besides those of the gate, its credential and its schemas (generic.ts). */
  refusals?: readonly Refused[];
  /** The success reply's body (200 JSON): a short form of `replies: { 200: schema }`. */
  reply?: z.ZodType;
  /** Statuses this path answers besides the ones of its credential and its schemas, with what they mean. */
  errors?: Record<number, string>;
  /** A multipart/form-data body: its text fields (sent before the file part) and the name of the file part. */
  multipart?: { fields: Record<string, string>; optional?: string[]; file: string };
  /** A reply that is not JSON (a file, a page): its media type. */
  replyType?: string;
  /** The body of its error replies (its own and its credential's) when it is not the Meeting API's `{"error": ...}`. */
  errorBody?: z.ZodType;
}

/** The success replies a declaration states, whichever form it used; undefined when it states none. */
export function successReplies(doc: RouteDoc | undefined): Readonly<Record<number, readonly ReplyBody[]>> | undefined {
  if (doc?.replies) return Object.fromEntries(Object.entries(doc.replies).map(([status, b]) => [status, Array.isArray(b) ? b : [b as ReplyBody]]));
  if (doc?.reply) return { 200: [doc.reply] };
  if (doc?.replyType) return { 200: [{ media: doc.replyType }] };
  return undefined;
}

/** A Meeting-shaped refusal: `{"error": text}`. */
export const said = (status: number, error: string): Refused & { readonly body: { readonly error: string } } => ({ status, body: { error } });

export interface RouteDeclaration {
  credential: Credential;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  doc?: RouteDoc;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the API reference says of this route. */
    api?: RouteDeclaration;
  }
}
