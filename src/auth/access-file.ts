/**
 * The access file, `<state_dir>/access`: one `entry:secret` line per api_access
 * entry, as the reference keeps it. Rewritten at every start from api_access:
 * entries no longer listed are dropped, new ones get a random 32-character
 * client secret, existing ones keep theirs (so an admin can rotate one by
 * editing the file and restarting). Mode 0600: the secrets are credentials.
 */
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { MIN_TOKEN_LENGTH } from './claims.js';

export const ACCESS_FILE = 'access';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const CLIENT_SECRET_LENGTH = 32;

/** 32 characters from [A-Za-z0-9] (about 190 bits), like the reference's secrets. */
export function newClientSecret(): string {
  let s = '';
  for (let i = 0; i < CLIENT_SECRET_LENGTH; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

const USABLE_SECRET = new RegExp(`^[\\x21-\\x7e]{${MIN_TOKEN_LENGTH},256}$`);

/**
 * `entry:secret` lines to a map. The secret follows the LAST colon (IPv6 entries
 * hold colons, secrets never do). Lines without a usable secret (printable, at
 * least MIN_TOKEN_LENGTH characters) are ignored: their entry simply gets a new one.
 */
export function parseAccessFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.lastIndexOf(':');
    const entry = line.slice(0, colon).trim();
    const secret = line.slice(colon + 1).trim();
    if (colon > 0 && USABLE_SECRET.test(secret)) out.set(entry, secret);
  }
  return out;
}

function readIfPresent(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/** Rewrites the file for these entries and returns entry -> secret, in api_access order. */
export function syncAccessFile(file: string, entries: readonly string[]): Map<string, string> {
  const old = parseAccessFile(readIfPresent(file));
  const secrets = new Map<string, string>();
  for (const entry of entries) if (!secrets.has(entry)) secrets.set(entry, old.get(entry) ?? newClientSecret());
  const text = [...secrets].map(([entry, secret]) => `${entry}:${secret}\n`).join('');
  // Written whole and renamed, so a crash never leaves a half file; chmod because `mode` only applies on creation.
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return secrets;
}
