/** The device world's class names (schema/Device.json), for every layer that names them. */
export const DEVICE = 'Device';
export const DEVICE_TYPE = 'DeviceType';
export const DISTRIBUTION = 'Distribution';
export const SSH_KEY = 'SshKey';
