/**
 * The contract between the dispatcher and the command modules in `commands/`.
 * A new verb is one file implementing `Command` plus one line in `commands/index.ts`.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/schema.js';
import type { Store, WriteCheck } from '../store/store.js';
import type { Writer, Mutation } from '../store/writer.js';
import type { Auth } from '../auth/auth.js';
import type { Caller } from '../auth/caller.js';
import type { OriginClass } from '../auth/origins.js';
import type { Envelope } from './envelope.js';
import type { Token } from './lexer.js';
import type { DaemonState } from '../state.js';
import type { ClassDef } from '../schema/types.js';
import type { Queues } from './queues.js';
import type { EventHub } from '../events/hub.js';

/** A reply envelope exactly as the CCEd-NG API shapes it. */
export interface Reply {
  status: number;
  message: string;
  data?: Record<string, unknown>;
}

/**
 * Who may run a command:
 * - `public`: anyone who passed the gate (PING, WHOAMI, BYE)
 * - `local`: only callers from a local address; credentials come in the request (AUTH, AUTHKEY)
 * - `remote`: only whitelisted remote callers (LOGIN)
 * - `user`: any authenticated caller
 * - `admin`: a systemAdministrator
 */
export type Access = 'public' | 'local' | 'remote' | 'user' | 'admin';

/** What a command receives to parse: the tokens after the verb and the structured envelope. */
export interface CommandInput {
  /** The verb, upper-cased. */
  verb: string;
  /** Tokens of the CSCP line after the verb (empty for the structured form). */
  tokens: Token[];
  envelope: Envelope;
}

/** Everything a command may use while it runs. No HTTP in here. */
export interface CommandContext {
  config: Config;
  store: Store;
  writer: Writer;
  auth: Auth;
  state: DaemonState;
  caller: Caller;
  /** The request's child logger; `audit` lines go through it. */
  log: FastifyBaseLogger;
  /** `json` when the envelope asked for typed values. */
  format: 'cce' | 'json';
  /** The client's address as the gate decided it. */
  ip: string;
  /** Where the caller is, as the gate decided: password credentials count only from `local`. */
  origin: OriginClass;
  /** Headers a command may need (LOGIN reads X-Client-Secret). */
  headers: Record<string, string | string[] | undefined>;
  /** The BEGIN queues of every session and token. */
  queues: Queues;
  /** The change log's readers (EVENT). */
  changes: EventHub;
  /** Inside COMMIT: the class of the object a `$n` reference will name (so SET $0 can hash a password). */
  pendingClass?(ref: string): ClassDef | undefined;
}

interface CommandBase<A> {
  readonly verb: string;
  readonly access: Access;
  /**
   * How a `user` or `admin` command refuses a caller without valid credentials:
   * `fail` (the default) as every failure, `401 FAIL`; `nobody` as WHOAMI
   * answers nobody (`"oid":"-1"`), which is what the reference does for GETALL.
   */
  readonly unidentified?: 'fail' | 'nobody';
  /** Turns the input into arguments, or throws CceError 403 / 306. */
  parse(input: CommandInput): A;
}

/** A command that reads or manages sessions: it runs at once. */
export interface ReadCommand<A = unknown> extends CommandBase<A> {
  readonly kind: 'read';
  run(ctx: CommandContext, args: A): Promise<Reply> | Reply;
}

/**
 * A command that changes the store. `prepare` does the work before the
 * transaction (argon2 hashing) and returns the mutation that runs inside a
 * store transaction, reading and writing through its handle: right away
 * through the group-commit writer, or later in a COMMIT together with the
 * rest of a BEGIN queue.
 */
export interface WriteCommand<A = unknown> extends CommandBase<A> {
  readonly kind: 'write';
  prepare(ctx: CommandContext, args: A): Promise<Mutation<Reply>>;
  /** The command as one CSCP line, echoed in COMMIT results. */
  describe(args: A, secret: (key: string) => boolean): string;
  /** The class this command creates, when it creates an object (what a later `$n` will be). */
  createsClass?(args: A): string;
  /**
   * Inside BEGIN, for a caller who is not a sysadmin: the checks of this write
   * that can be made before it runs (Store.checkWrite), throwing the error it
   * would fail with at COMMIT, so that a write that cannot succeed is refused
   * instead of queued. `target` resolves an oid argument (digits or `$n`).
   */
  check?(ctx: CommandContext, args: A, target: (ref: string) => WriteTarget): Promise<void>;
}

/** What a queued write names: an existing oid, or the class a queued CREATE will make (`$n`). */
export type WriteTarget = Extract<WriteCheck, { op: 'DESTROY' }>['target'];

export type Command<A = any> = ReadCommand<A> | WriteCommand<A>;

/** The reply of a successful CSCP-style command. */
export const GOODBYE: Reply = Object.freeze({ status: 201, message: 'GOODBYE' }) as Reply;

export function goodbye(data?: Record<string, unknown>): Reply {
  return data === undefined ? { status: 201, message: 'GOODBYE' } : { status: 201, message: 'GOODBYE', data };
}

/** The reply of a successful FINDX / GETOBJECT / GETALL. */
export function ok(data: Record<string, unknown>): Reply {
  return { status: 201, message: 'OK', data };
}
