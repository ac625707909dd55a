/**
 * A new device, inside one write: fresh access-point and HTTP secrets, and a
 * serial drawn from its type's prefix when none is given. The store refuses a
 * type or distribution that does not exist (302, a declared reference) and a
 * used key or serial (302, unique), as for every door.
 */
import type { StoreTx } from '../store/store.js';
import type { AclSubject } from '../schema/types.js';
import { DEVICE } from './classes.js';
import { findDeviceType } from './lookups.js';
import { newDeviceSecrets, newProductSerial } from './secrets.js';

export interface NewDevice {
  devicekey: string;
  token_code: string;
  device_type?: string;
  distribution?: string;
  device_name?: string;
  product_serial?: string;
}

/** Creates the device; returns its credentials and what was drawn for it. */
export async function createDevice(tx: StoreTx, subject: AclSubject, d: NewDevice) {
  const typeOid = d.device_type === undefined ? undefined : await findDeviceType(tx, d.device_type);
  const serial = d.product_serial ?? (typeOid === undefined ? undefined : await newProductSerial(tx, (await tx.rawValues(typeOid)).serial_prefix));
  const secrets = newDeviceSecrets(d.devicekey);
  const values = {
    device_key: d.devicekey,
    token_code: d.token_code,
    device_type: d.device_type ?? '',
    distribution: d.distribution ?? '',
    device_name: d.device_name ?? '',
    product_serial: serial ?? '',
    ...secrets,
  };
  await tx.create(subject, DEVICE, values);
  return { devicekey: d.devicekey, token_code: d.token_code, ...secrets, device_type: values.device_type, distribution: values.distribution, product_serial: values.product_serial };
}
