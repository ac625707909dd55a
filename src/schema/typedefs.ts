/**
 * The base typedefs of the classic daemon. Schema files may add their own
 * (`"typedefs": {"name": {"pattern": "...", "json": "string"}}`).
 */
import { isIP } from 'node:net';
import type { JsonKind, TypeDef } from './types.js';

const pattern = (name: string, re: RegExp, json: JsonKind = 'string'): TypeDef => ({
  name,
  json,
  message: '[[base-cce.invalidData]]',
  check: (v) => re.test(v),
});

const fn = (name: string, check: (v: string) => boolean): TypeDef => ({ name, json: 'string', message: '[[base-cce.invalidData]]', check });

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const hostnameRe = new RegExp(`^${LABEL}$`);
const domainRe = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);
const fqdnRe = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})+$`);

function isNetmask(v: string): boolean {
  if (/^\d{1,2}$/.test(v)) return Number(v) <= 32;
  if (isIP(v) !== 4) return false;
  const bits = v.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
  return /^1*0*$/.test(bits);
}

function isNetwork(v: string): boolean {
  const [addr, len, ...rest] = v.split('/');
  if (rest.length > 0 || addr === undefined || isIP(addr) === 0) return false;
  if (len === undefined) return true;
  const max = isIP(addr) === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(len) && Number(len) <= max;
}

/** An OpenSSH public key line: type, base64 blob, optional comment. */
const sshKeyRe = /^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\n\r]*)?$/;

export const BASE_TYPEDEFS: readonly TypeDef[] = [
  pattern('boolean', /^(0|1)$/, 'boolean'),
  pattern('int', /^((-?[1-9][0-9]*)|0)$/, 'number'),
  pattern('uint', /^([1-9][0-9]*|0)$/, 'number'),
  pattern('alphanum', /^[A-Za-z0-9]+$/),
  pattern('alphanum_plus', /^[A-Za-z0-9_.@+-]+$/),
  pattern('word', /^[^\s]+$/),
  fn('scalar', () => true),
  fn('password', () => true),
  fn('ipaddr', (v) => isIP(v) === 4),
  fn('ipaddrIPv6', (v) => isIP(v) === 6),
  fn('ipaddress', (v) => isIP(v) !== 0),
  fn('network', isNetwork),
  fn('netmask', isNetmask),
  pattern('hostname', hostnameRe),
  pattern('domainname', domainRe),
  pattern('fqdn', fqdnRe),
  pattern('email_address', /^[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/),
  pattern('sshkey', sshKeyRe),
  pattern('iso8601', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/),
];
