/**
 * `api-admin`, the identity behind LOGIN tokens (the reference's gen_api_admin.pl):
 * created at start if missing, a systemAdministrator, and a new random password
 * at every start (on a database several nodes share: once, the others adopting it). Nobody may AUTH as it (Auth refuses its oid); the password is
 * kept only so that an operator can recover it, encrypted with AES-256-GCM in
 * `<state_dir>/api-admin.passwd` under the key in `<state_dir>/master.key`.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Services } from '../services.js';
import { SYSTEM, Hashed } from '../store/store.js';
import { ConfigError } from '../config/load.js';
import { hashPassword } from './passwords.js';
import { randomSecret } from './secrets.js';
import { USER_CLASS, API_ADMIN_NAME } from './auth.js';
import { clusterOf } from '../store/cluster.js';

export const MASTER_KEY_FILE = 'master.key';
export const API_ADMIN_PASSWORD_FILE = 'api-admin.passwd';
/** The oid survives a rename by an admin: the identity is the object, not the name. */
export const API_ADMIN_OID_SETTING = 'api_admin_oid';
const FORMAT = 'aes-256-gcm';
const AAD = Buffer.from('cced api-admin.passwd v1');

function writeSecretFile(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** The 256-bit master key, created (0600) when missing; a damaged one stops start-up. */
export function masterKey(stateDir: string): Buffer {
  const file = path.join(stateDir, MASTER_KEY_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const key = randomBytes(32);
    writeSecretFile(file, key.toString('hex') + '\n');
    return key;
  }
  chmodSync(file, 0o600);
  if (!/^[0-9a-f]{64}$/i.test(text.trim())) throw new ConfigError(`${file}: expected 64 hex digits (a 256-bit key); move it away to get a new one`);
  return Buffer.from(text.trim(), 'hex');
}

/** `aes-256-gcm:<iv>:<tag>:<ciphertext>`, base64 each. */
export function encryptPassword(key: Buffer, password: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv(FORMAT, key, iv).setAAD(AAD);
  const ct = Buffer.concat([cipher.update(password, 'utf8'), cipher.final()]);
  return [FORMAT, iv.toString('base64'), cipher.getAuthTag().toString('base64'), ct.toString('base64')].join(':');
}

export function decryptPassword(key: Buffer, text: string): string {
  const [format, iv, tag, ct] = text.trim().split(':');
  if (format !== FORMAT || iv === undefined || tag === undefined || ct === undefined) throw new Error(`not an ${FORMAT} record`);
  const decipher = createDecipheriv(FORMAT, key, Buffer.from(iv, 'base64')).setAAD(AAD);
  decipher.setAuthTag(Buffer.from(tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(ct, 'base64')), decipher.final()]).toString('utf8');
}

/** The current api-admin password, decrypted (operator tooling and tests). */
export function readApiAdminPassword(stateDir: string): string {
  return decryptPassword(masterKey(stateDir), readFileSync(path.join(stateDir, API_ADMIN_PASSWORD_FILE), 'utf8'));
}

/**
 * Several nodes on one database: the record of api-admin's password (encrypted under master.key, which every
 * node is given: docs/postgresql.md), so that the nodes agree on one password instead of each rotating it.
 */
export const API_ADMIN_PASSWORD_SETTING = 'api_admin_password';

/** Does `record` decrypt under `key` (a record another node wrote with the same master key)? */
function readable(key: Buffer, record: string): boolean {
  try {
    decryptPassword(key, record);
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates api-admin if missing, rotates its password, and tells Auth its oid. On a database several nodes
 * share, a node whose api-admin has a password record it can read keeps it (read inside the write's
 * transaction, so of nodes starting together one rotates and the others adopt its password).
 */
export async function ensureApiAdmin(s: Services): Promise<number> {
  const key = masterKey(s.config.state_dir);
  const shared = clusterOf(s.store).shared;
  const password = randomSecret(24); // 32 characters of base64url
  const record = encryptPassword(key, password);
  const hash = new Hashed(await hashPassword(password));
  const remembered = Number((await s.store.setting(API_ADMIN_OID_SETTING)) ?? NaN);
  const known = Number.isInteger(remembered) && (await s.store.exists(remembered)) ? remembered : await s.store.findOne(USER_CLASS, '', 'name', API_ADMIN_NAME);
  let kept: string | undefined;
  const oid = await s.writer.submit(async (w) => {
    const tx = s.store.at(w);
    kept = undefined;
    if (shared && known !== undefined) {
      const existing = await tx.setting(API_ADMIN_PASSWORD_SETTING);
      if (existing !== undefined && readable(key, existing)) {
        kept = existing;
        return known;
      }
    }
    if (shared) await tx.putSetting(API_ADMIN_PASSWORD_SETTING, record);
    if (known !== undefined) {
      // Rotated, and kept an administrator; `enabled` is left alone (disabling it is how an admin turns tokens off).
      await tx.set(SYSTEM, known, '', { password: hash, systemAdministrator: '1', ui_enabled: '0' });
      await tx.putSetting(API_ADMIN_OID_SETTING, String(known));
      return known;
    }
    const created = await tx.create(SYSTEM, USER_CLASS, {
      name: API_ADMIN_NAME,
      fullName: 'API administrator (LOGIN tokens only)',
      systemAdministrator: '1',
      capabilities: '&adminUser&',
      ui_enabled: '0',
      password: hash,
    });
    await tx.putSetting(API_ADMIN_OID_SETTING, String(created));
    return created;
  });
  writeSecretFile(path.join(s.config.state_dir, API_ADMIN_PASSWORD_FILE), (kept ?? record) + '\n');
  s.auth.apiAdminOid = oid;
  if (kept !== undefined) s.log.info({ audit: 'API_ADMIN_NAME', user: API_ADMIN_NAME, oid, outcome: 'kept' }, "api-admin password kept (another node's)");
  else s.log.info({ audit: 'API_ADMIN_NAME', user: API_ADMIN_NAME, oid, outcome: known === undefined ? 'created' : 'rotated' }, 'api-admin password rotated');
  return oid;
}
