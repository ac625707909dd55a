/** Moved to the device domain (src/devices/credentials.ts); this path is kept for the modules that import it from here. */
export { DeviceCredentials, type DeviceCredential } from '../../devices/credentials.js';
