/**
 * OpenSSH public key lines, parsed by ssh2 (`utils.parseKey` returns an Error
 * rather than throwing), and the constant-time comparison of a stored key
 * with the key a client offers.
 */
import { timingSafeEqual } from 'node:crypto';
import ssh2, { type ParsedKey, type PublicKey } from 'ssh2';

const { utils } = ssh2;

export interface PublicKeyLine {
  parsed: ParsedKey;
  /** `<type> <base64 blob>`: the key itself, what uniqueness and look-ups use. */
  canonical: string;
  comment: string;
}

/** A public key line (`ssh-ed25519 AAAA... comment`), or undefined when it is not one (a private key is not). */
export function parsePublicKey(line: string): PublicKeyLine | undefined {
  // One key per value: parseKey would read the first of several lines and ignore the rest.
  if (/[\r\n]/.test(line.trim())) return undefined;
  const parsed = utils.parseKey(line.trim());
  if (parsed instanceof Error || parsed.isPrivateKey()) return undefined;
  return { parsed, canonical: canonicalKey(parsed), comment: parsed.comment };
}

/** The key itself as stored and compared: `<type> <base64 blob>`, without its comment. */
export function canonicalKey(parsed: ParsedKey): string {
  return `${parsed.type} ${parsed.getPublicSSH().toString('base64')}`;
}

/** Is the offered key this stored key? Same algorithm and the same public blob, compared in constant time. */
export function sameKey(stored: ParsedKey, offered: PublicKey): boolean {
  const blob = stored.getPublicSSH();
  // A key's length is public (it follows from its type); only its bytes must not leak through timing.
  return stored.type === offered.algo && blob.length === offered.data.length && timingSafeEqual(blob, offered.data);
}
