/** Fresh device credentials: key, token code, Wi-Fi access point and HTTP passwords. */
import { randomBytes } from 'node:crypto';
import type { Store } from '../store/store.js';
import { DEVICE } from './classes.js';
import { findDevice } from './lookups.js';

const MAX_TRIES = 16;

/** 24 upper-case hex digits (96 bits), not used by any device yet. */
export async function newDeviceKey(store: Store): Promise<string> {
  for (let i = 0; i < MAX_TRIES; i++) {
    const key = randomBytes(12).toString('hex').toUpperCase();
    if ((await findDevice(store, key)) === undefined) return key;
  }
  /* c8 ignore next */
  throw new Error('could not draw an unused device key');
}

export const newTokenCode = () => randomBytes(16).toString('hex');
const password = () => randomBytes(12).toString('base64url');

/** What generate-and-register and manual-create give every new device besides its key and token. */
export function newDeviceSecrets(key: string) {
  return {
    ap_ssid: `MEETING-${key.slice(-6)}`,
    ap_password: password(),
    http_pw_low: password(),
    http_pw_medium: password(),
    http_pw_high: password(),
  };
}

/** A serial from the type's prefix, not used by any device yet (checked inside the creating transaction). */
export async function newProductSerial(store: Store, prefix: string): Promise<string> {
  for (let i = 0; i < MAX_TRIES; i++) {
    const serial = `${prefix || 'SN'}-${randomBytes(4).toString('hex').toUpperCase()}`;
    if ((await store.findOne(DEVICE, '', 'product_serial', serial)) === undefined) return serial;
  }
  /* c8 ignore next */
  throw new Error('could not draw an unused product serial');
}
