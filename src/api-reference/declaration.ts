/**
 * What a route tells the API reference about itself, in fastify's route
 * config (`config.api`): the facade kit fills it from each declaration (its
 * access level's credential, the zod params/query/body), other routes by hand.
 * Kept here, below the facades, so the reference never imports a facade.
 */
import type { z } from 'zod';

/** Who may call a path, as the document says it. */
export interface Credential {
  /** OpenAPI security requirements over the schemes of document.ts (`bearer`, `deviceToken`, `sshToken`; `{}` also lets in a caller without one); empty for anyone. */
  security: Record<string, []>[];
  /** How the credential can be refused: status to meaning. */
  errors: Record<number, string>;
  words: string;
}

export const ANYONE: Credential = { security: [], errors: {}, words: 'Anyone the gate lets in.' };

export interface RouteDoc {
  summary?: string;
  /** The success reply's body (200 JSON). */
  reply?: z.ZodType;
  /** Statuses this path answers besides the ones of its credential and its schemas, with what they mean. */
  errors?: Record<number, string>;
  /** A multipart/form-data body: its text fields (sent before the file part) and the name of the file part. */
  multipart?: { fields: Record<string, string>; optional?: string[]; file: string };
  /** A reply that is not JSON (a file, a page): its media type. */
  replyType?: string;
  /** Who may call it, when the path checks its own credential (a `public` route of a facade with tokens of its own). */
  credential?: Credential;
  /** The body of its error replies (its own and its credential's) when it is not the Meeting API's `{"error": ...}`. */
  errorBody?: z.ZodType;
}

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
