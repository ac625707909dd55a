/**
 * The dispatcher: envelope -> command -> access rule -> queue or run -> reply.
 * It knows nothing of HTTP; src/http/cce-route.ts feeds it parsed JSON and the
 * gate's verdict on the client address.
 */
import type { FastifyBaseLogger } from 'fastify';
import { CceError, Refusal, badCommand, badParameters, permissionDenied } from '../errors.js';
import { ANONYMOUS, type Caller } from '../auth/caller.js';
import type { OriginClass } from '../auth/origins.js';
import { envelopeSchema, describeIssue, type Envelope } from './envelope.js';
import { lex } from './lexer.js';
import { Unidentified, errorReply } from './reply.js';
import type { Command, CommandContext, CommandInput, Reply, WriteCommand } from './types.js';
import type { Services } from '../services.js';
import { Queues } from './queues.js';
import { clusterOf } from '../store/cluster.js';
import type { Grant } from '../auth/secrets.js';
import { sharedBegins } from '../cluster/shared-begins.js';
import { queuedTarget } from './transaction.js';

/** What the HTTP layer tells the dispatcher about a request. */
export interface RequestInfo {
  ip: string;
  /** `local` (loopback or local_addresses) or `remote` (inside api_access); the gate lets no other class reach /v2/cce. */
  origin: OriginClass;
  headers: Record<string, string | string[] | undefined>;
  log: FastifyBaseLogger;
}

export interface Outcome {
  reply: Reply;
  /** The verb for the request log line ('?' when the envelope did not say). */
  verb: string;
  caller: Caller;
}

export type { QueuedWrite } from './queues.js';

/** The refusal of a caller without valid credentials, in the command's own shape. */
const unidentified = (command: Command): CceError => (command.unidentified === 'nobody' ? new Unidentified() : new CceError(401));

export class Dispatcher {
  private readonly queues: Queues;

  constructor(
    private readonly services: Services,
    private readonly table: ReadonlyMap<string, Command>,
  ) {
    const { grants } = services.auth;
    // Several nodes on one database: a session's BEGIN ... COMMIT is sticky to one node (src/cluster/shared-begins.ts).
    const shared = clusterOf(services.store).shared ? { begins: sharedBegins(services.store, services.writer, services.config.node_url), keyOf: (g: Grant) => grants.keyOf(g) } : undefined;
    this.queues = new Queues(services.config, (grant) => grants.holds(grant), shared);
  }

  async handle(body: unknown, req: RequestInfo): Promise<Outcome> {
    let verb = '?';
    let caller: Caller = ANONYMOUS;
    try {
      const parsed = envelopeSchema.safeParse(body);
      if (!parsed.success) throw badParameters(describeIssue(parsed.error));
      const envelope = parsed.data;
      const [first, ...tokens] = lex(envelope.cmd);
      if (first?.type !== 'word') throw badCommand();
      verb = first.value.toUpperCase();
      const command = this.table.get(verb);
      if (!command) {
        verb = '?';
        throw badCommand(first.value.slice(0, 40));
      }
      // Who the envelope's credentials (or an OIDC bearer header) prove; one chain for every door (src/auth/credentials).
      caller = await this.services.credentials.resolveCaller({ ...req, envelope });
      // A banned address keeps the sessions and tokens it holds; nothing else from it runs (src/auth/bans.ts).
      if (caller === ANONYMOUS) this.refuseBannedAddress(req.ip);
      const ctx = this.context(envelope, req, caller);
      this.checkAccess(command, ctx, req.origin);
      const input: CommandInput = { verb, tokens, envelope };
      const args = command.parse(input);
      const reply = command.kind === 'read' ? await command.run(ctx, args) : await this.write(command, ctx, args);
      return { reply, verb, caller };
    } catch (err) {
      if (err instanceof CceError) {
        if (caller === ANONYMOUS) this.refuseBannedAddress(req.ip);
        return { reply: errorReply(err), verb, caller };
      }
      throw err;
    }
  }

  private refuseBannedAddress(ip: string): void {
    const wait = this.services.auth.bans.addressBanLeft(ip);
    if (wait !== undefined) throw new Refusal('banned', wait);
  }

  private context(envelope: Envelope, req: RequestInfo, caller: Caller): CommandContext {
    const s = this.services;
    return {
      config: s.config,
      store: s.store,
      writer: s.writer,
      auth: s.auth,
      state: s.state,
      queues: this.queues,
      changes: s.changes,
      caller,
      log: req.log,
      format: envelope.format ?? 'cce',
      ip: req.ip,
      origin: req.origin,
      headers: req.headers,
    };
  }

  private checkAccess(command: Command, ctx: CommandContext, origin: RequestInfo['origin']): void {
    switch (command.access) {
      case 'public':
        return;
      case 'local':
        if (origin !== 'local') throw permissionDenied('Access Denied: AUTH and AUTHKEY only allowed from localhost');
        return;
      case 'remote':
        // The reference's own words; `remote` callers are whitelisted by the gate already.
        if (origin !== 'remote') throw permissionDenied(`Access Denied: ${command.verb} not allowed from localhost`);
        return;
      case 'user':
        if (ctx.caller.kind === 'anonymous') throw unidentified(command);
        return;
      case 'admin':
        if (ctx.caller.kind === 'anonymous') throw unidentified(command);
        if (!ctx.caller.admin) throw permissionDenied(command.verb);
        return;
    }
  }

  /**
   * Writes: refused while suspended, queued inside BEGIN, else run through the group-commit writer.
   * A queued write is refused at once when its queue or its user's queues are full, and, when the
   * caller is not a sysadmin, when it cannot succeed (see WriteCommand.check). A sysadmin's writes
   * are checked at COMMIT only, as the reference daemon does: the COMMIT reply then reports each one.
   */
  private async write(command: WriteCommand, ctx: CommandContext, args: unknown): Promise<Reply> {
    await ctx.state.refuseIfStillSuspended();
    const queue = ctx.queues.of(ctx.caller.grant);
    if (queue) {
      const check = async () => {
        if (!ctx.caller.admin) await command.check?.(ctx, args, (ref) => queuedTarget(ctx, queue.writes, ref));
      };
      await ctx.queues.add(queue, () => ({ command, args, text: command.describe(args, ctx.store.isSecretName) }), check);
      return { status: 100, message: 'QUEUED' };
    }
    await ctx.queues.refuseHeldElsewhere(ctx.caller.grant);
    const mutation = await command.prepare(ctx, args);
    return ctx.writer.submit(mutation);
  }
}
