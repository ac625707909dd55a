/**
 * The gate decides where a request comes from: `local` (a configured local
 * address), `remote` (inside an api_access entry), `device` (inside a
 * device_access entry: the device paths only, src/auth/origins.ts), or nowhere
 * allowed (undefined: HTTP 403 before anything else runs). The address is the TCP peer;
 * fastify only honours X-Forwarded-For when trusted_proxies names the peer.
 */
import IPCIDR from 'ip-cidr';
import { isIP } from 'node:net';
import type { OriginClass } from './origins.js';

/** `::ffff:1.2.3.4` is the IPv4 peer 1.2.3.4. */
export function normalizeIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip.toLowerCase();
}

const CONTAINS_MEMO = 4096;

export interface AccessEntry {
  /** As written in api_access, e.g. 203.0.113.0/24 or 2001:db8::1. */
  readonly entry: string;
  contains(ip: string): boolean;
}

/** Parses one api_access entry (an address or a CIDR); throws naming it when invalid. */
export function parseAccessEntry(entry: string): AccessEntry {
  const cidr = entry.includes('/') ? entry : `${entry}/${isIP(entry) === 6 ? 128 : 32}`;
  const [addr] = cidr.split('/');
  if (isIP(addr!) === 0 || !IPCIDR.isValidCIDR(cidr)) throw new Error(`bad entry "${entry}" (expected an IPv4/IPv6 address or CIDR)`);
  const range = new IPCIDR(cidr);
  const v6 = isIP(addr!) === 6;
  // ip-cidr parses the address on every call (~10 us); the answer for an address never changes, and the
  // addresses that reach here are few (local or whitelisted), so it is remembered, in a bounded map.
  const seen = new Map<string, boolean>();
  return {
    entry,
    contains: (ip) => {
      let yes = seen.get(ip);
      if (yes === undefined) {
        const n = normalizeIp(ip);
        yes = isIP(n) === (v6 ? 6 : 4) && range.contains(n);
        if (seen.size >= CONTAINS_MEMO) seen.clear();
        seen.set(ip, yes);
      }
      return yes;
    },
  };
}

export class Gate {
  readonly local: ReadonlySet<string>;
  readonly access: readonly AccessEntry[];
  readonly devices: readonly AccessEntry[];
  private readonly origins = new Map<string, OriginClass | 'none'>();

  constructor(localAddresses: readonly string[], apiAccess: readonly string[], deviceAccess: readonly string[] = []) {
    this.local = new Set(localAddresses.map(normalizeIp));
    this.access = apiAccess.map(parseAccessEntry);
    this.devices = deviceAccess.map(parseAccessEntry);
  }

  originOf(ip: string): OriginClass | undefined {
    // Asked on every request, for few distinct peers: the answer is remembered per address (bounded).
    const known = this.origins.get(ip);
    if (known !== undefined) return known === 'none' ? undefined : known;
    const n = normalizeIp(ip);
    const origin = this.local.has(n) ? 'local' : this.entryOf(n) ? 'remote' : this.devices.some((e) => e.contains(n)) ? 'device' : 'none';
    if (this.origins.size >= CONTAINS_MEMO) this.origins.clear();
    this.origins.set(ip, origin);
    return origin === 'none' ? undefined : origin;
  }

  /** The first api_access entry holding this address. */
  entryOf(ip: string): AccessEntry | undefined {
    return this.access.find((e) => e.contains(ip));
  }
}
