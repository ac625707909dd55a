/**
 * The embedded SSH server's host key: ed25519, made at first start into
 * `<state_dir>/ssh_host_ed25519_key` (OpenSSH format, 0600), and its public
 * half as GET /api/ssh-hostkey serves it (an ssh-keyscan line).
 */
import path from 'node:path';
import ssh2 from 'ssh2';
import { readOrCreateSecret } from './secret-file.js';

const { utils } = ssh2;

export const HOST_KEY_FILE = 'ssh_host_ed25519_key';

export interface HostKey {
  /** The private key text, for ssh2's Server. Never logged. */
  private: string;
  /** `ssh-ed25519 AAAA...` */
  public: string;
}

/**
 * A new ed25519 key in OpenSSH format. ssh2's generator writes, about once in
 * 250 keys, one its own parser calls malformed (13 of 3000 measured): such a
 * key is made again rather than written and refused at the next start.
 */
function newHostKey(): string {
  for (let tries = 0; tries < 20; tries++) {
    const text = utils.generateKeyPairSync('ed25519').private;
    const parsed = utils.parseKey(text);
    if (!(parsed instanceof Error) && parsed.isPrivateKey()) return text;
  }
  throw new Error('could not make an ed25519 host key that parses');
}

export function loadHostKey(stateDir: string): HostKey {
  const file = path.join(stateDir, HOST_KEY_FILE);
  const text = readOrCreateSecret(file, newHostKey);
  const parsed = utils.parseKey(text);
  if (parsed instanceof Error || !parsed.isPrivateKey()) throw new Error(`${file} is not an OpenSSH private key`);
  return { private: text, public: `${parsed.type} ${parsed.getPublicSSH().toString('base64')}` };
}

/** `host ssh-ed25519 AAAA...`, or `[host]:port ...` off port 22, as ssh-keyscan and known_hosts write it. */
export function keyscanLine(host: string, port: number, publicKey: string): string {
  const name = port === 22 ? host : `[${host}]:${port}`;
  return `${name} ${publicKey}\n`;
}
