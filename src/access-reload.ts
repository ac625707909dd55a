/**
 * api_access and the access file, replaceable while the daemon runs (SIGHUP, src/main.ts). The server and
 * the LOGIN command hold the gate and the client secrets they were built with; these subclasses keep those
 * references and answer from whichever entries were loaded last, so a reload drops no connection and no
 * request in flight sees half of it.
 *
 * A reload rewrites the access file for the new entries as a start does (new entries get a secret, removed
 * ones are dropped, kept ones keep the secret the file holds, so an operator rotates one by editing the file).
 * Removed entries are refused at once: their tokens no longer count (ClientSecrets.tokenValid finds no entry),
 * and a rotated secret is the only one its entry's tokens accept from then on.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { Gate, type AccessEntry } from './auth/gate.js';
import type { OriginClass } from './auth/origins.js';
import { ClientSecrets } from './auth/client-secrets.js';
import { ACCESS_FILE, syncAccessFile } from './auth/access-file.js';
import type { Bans } from './auth/bans.js';
import type { Grant } from './auth/secrets.js';

/** A Gate whose api_access entries can be replaced. */
export class ReloadableGate extends Gate {
  private current: Gate;

  constructor(
    private readonly localAddresses: readonly string[],
    apiAccess: readonly string[],
    private readonly deviceAccess: readonly string[] = [],
  ) {
    super(localAddresses, apiAccess, deviceAccess);
    this.current = new Gate(localAddresses, apiAccess, deviceAccess);
  }

  override originOf(ip: string): OriginClass | undefined {
    return this.current.originOf(ip);
  }

  override entryOf(ip: string): AccessEntry | undefined {
    return this.current.entryOf(ip);
  }

  /** The entries in force. */
  get entries(): readonly AccessEntry[] {
    return this.current.access;
  }

  replace(apiAccess: readonly string[]): void {
    this.current = new Gate(this.localAddresses, apiAccess, this.deviceAccess);
  }
}

/** ClientSecrets whose entries and secrets can be replaced. */
export class ReloadableClientSecrets extends ClientSecrets {
  private current: ClientSecrets;
  /** A new ClientSecrets with the same bans and log. */
  private readonly make: (access: readonly AccessEntry[], secrets: ReadonlyMap<string, string>) => ClientSecrets;

  constructor(access: readonly AccessEntry[], secrets: ReadonlyMap<string, string>, bans: Bans, log: Logger) {
    super(access, secrets, bans, log);
    this.make = (a, s) => new ClientSecrets(a, s, bans, log);
    this.current = this.make(access, secrets);
  }

  override match(ip: string, given: string | undefined): AccessEntry | undefined {
    return this.current.match(ip, given);
  }

  override tokenValid(grant: Grant, ip: string, headers: Record<string, string | string[] | undefined>): Promise<boolean> {
    return this.current.tokenValid(grant, ip, headers);
  }

  replace(access: readonly AccessEntry[], secrets: ReadonlyMap<string, string>): void {
    this.current = this.make(access, secrets);
  }
}

/** What a reload changed, by entry (never a secret). */
export interface AccessChange {
  added: string[];
  removed: string[];
  /** Entries kept whose secret the access file now holds differently. */
  rotated: string[];
}

/** The access file's secrets for the gate's entries, as a start writes them. */
export function accessSecrets(stateDir: string, gate: ReloadableGate): Map<string, string> {
  return syncAccessFile(path.join(stateDir, ACCESS_FILE), gate.entries.map((e) => e.entry));
}

export class AccessReloader {
  constructor(
    private readonly stateDir: string,
    private readonly gate: ReloadableGate,
    private readonly clients: ReloadableClientSecrets,
    private secrets: Map<string, string>,
  ) {}

  /** Puts these api_access entries (and the access file's secrets for them) in force. */
  reload(apiAccess: readonly string[]): AccessChange {
    const before = this.secrets;
    this.gate.replace(apiAccess);
    const after = accessSecrets(this.stateDir, this.gate);
    this.clients.replace(this.gate.entries, after);
    this.secrets = after;
    return {
      added: [...after.keys()].filter((e) => !before.has(e)),
      removed: [...before.keys()].filter((e) => !after.has(e)),
      rotated: [...after].filter(([e, s]) => before.has(e) && before.get(e) !== s).map(([e]) => e),
    };
  }
}
