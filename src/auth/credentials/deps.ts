/** What the strategies are built from (src/app.ts assembles it once). */
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { Store } from '../../store/store.js';
import type { Writer } from '../../store/writer.js';
import type { Auth } from '../auth.js';
import { describeCaller, type Caller } from '../caller.js';
import type { Principal, Strategy, StrategyName, CredentialRequest } from './types.js';

/**
 * What authenticating a device needs: its oid, the SHA-256 of its token and
 * its revoked flag. The device world keeps this (with its cache); the facade
 * that serves devices hands it to the chain (CredentialChain.provideDevices),
 * so the gate reads no device table of its own.
 */
export interface DeviceDirectory {
  lookup(key: string): Promise<{ oid: number; tokenDigest: Buffer | undefined; revoked: boolean } | undefined>;
}

export interface CredentialDeps {
  config: Config;
  store: Store;
  writer: Writer;
  auth: Auth;
  log: Logger;
  /** Filled by the facade that serves devices; until then no device token verifies. */
  devices: { current?: DeviceDirectory };
}

/** One entry of the chain's table: how to build the strategy, and what carries its credential. */
export interface StrategyDef {
  readonly name: StrategyName;
  readonly headers: readonly string[];
  readonly fields: readonly string[];
  create(deps: CredentialDeps): Strategy['resolve'];
}

/** The principal of a person (session, token, bearer grant, OIDC), or nothing when its user is gone or disabled. */
export function callerPrincipal(caller: Caller | undefined, via: StrategyName): Principal | undefined {
  return caller && { subject: caller, label: describeCaller(caller), caller, via };
}

export type { CredentialRequest };
