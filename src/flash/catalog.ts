/**
 * The firmware store and the catalog (DeviceType, Distribution objects) kept
 * together, through the Store API only:
 * - creating a type or a distribution (by any path: the catalog's REST paths,
 *   /v2/cce CREATE) creates its folder, through the store's write hook;
 * - renaming a type (by any path) moves its folder once committed (the new
 *   name reaching its distributions and devices is the core's rule:
 *   src/devices/catalog.ts);
 * - a Distribution's read-only `files` property mirrors its folder after every
 *   upload and delete, written by the SYSTEM subject; any other writer is
 *   refused (admins pass every ACL expression, so the hook enforces it);
 * - `filesForDevice`: what a device should fetch (its current distribution's files).
 */
import type { Services } from '../services.js';
import type { AuditEntry, Store, StoreTx } from '../store/store.js';
import { SYSTEM } from '../store/store.js';
import { permissionDenied } from '../errors.js';
import { DEVICE_TYPE, DISTRIBUTION } from '../devices/classes.js';
import { FlashError, FlashStorage, type FileInfo } from './storage.js';
import { isSegment } from './names.js';

export const FILES_PROPERTY = 'files';

/** The oid of the distribution `name` of the type `type`. */
export async function findDistribution(store: Store, type: string, name: string): Promise<number | undefined> {
  const [oid] = await store.find(SYSTEM, DISTRIBUTION, {
    criteria: [
      { ns: '', name: 'device_type', op: '=', value: type },
      { ns: '', name: 'name', op: '=', value: name },
    ],
  });
  return oid;
}

/** Subscribes to the store's catalog writes (creations, renames); returns the unsubscribe function. The app installs it. */
export function watchCatalog(services: Services, storage: FlashStorage): () => void {
  const unwatchRenames = watchTypeRenames(services, storage);
  const unwatchWrites = watchCreations(services, storage);
  return () => {
    unwatchRenames();
    unwatchWrites();
  };
}

/** Once a type's rename commits, its folder follows. */
function watchTypeRenames(services: Services, storage: FlashStorage): () => void {
  const { store, log } = services;
  return store.watchValue(DEVICE_TYPE, 'name', ({ from, to }, tx) => {
    if (!isSegment(from) || !isSegment(to)) return;
    tx.w.afterCommit(() => {
      try {
        const moved = storage.renameFolderSync(from, to);
        log.info({ audit: 'FLASH_RENAME', from, to, moved }, 'flash: device type renamed');
      } catch (err) {
        // The rename stands; the old folder stays where it was (an upload to the new name makes a new one).
        log.warn({ err, from, to }, 'flash: could not move the folder of a renamed device type');
      }
    });
  });
}

/**
 * A new type or distribution gets its folder (names the strict pattern
 * refuses, e.g. with spaces, get none: they cannot hold files); `files` is
 * written by SYSTEM only.
 */
function watchCreations(services: Services, storage: FlashStorage): () => void {
  const { store, log } = services;
  // Told of every write: any other (a fleet's beats) is answered at once, with no promise.
  return store.onWrite((e, _detail, tx) => {
    if (e.class === DISTRIBUTION && e.by !== SYSTEM.oid && e.props?.includes(FILES_PROPERTY)) throw permissionDenied(FILES_PROPERTY);
    if (e.op !== 'CREATE' || (e.class !== DEVICE_TYPE && e.class !== DISTRIBUTION)) return undefined;
    return folderFor(e, tx);
  });

  /** A new type or distribution: its folder. */
  async function folderFor(e: AuditEntry, tx: StoreTx): Promise<void> {
    const v = (await tx.get(SYSTEM, e.oid)).values;
    const segments = e.class === DEVICE_TYPE ? [v.name] : [v.device_type, v.name];
    if (!segments.every(isSegment)) {
      log.info({ class: e.class, oid: e.oid }, 'flash: no folder for a name outside the file-name pattern');
      return;
    }
    try {
      storage.ensureFolderSync(...segments);
    } catch (err) {
      // The catalog write stands; an upload creates the folder again when it is missing.
      log.warn({ err, class: e.class, oid: e.oid }, 'flash: could not create the folder');
    }
  }
}

/** Mirrors a distribution's folder into its `files` property (SYSTEM write, next group commit). */
export async function syncFiles(services: Services, storage: FlashStorage, type: string, dist: string): Promise<void> {
  const names = ((await storage.list(type, dist)) ?? []).map((f) => f.name);
  await services.writer.submit(async (w) => {
    const tx = services.store.at(w);
    const oid = await findDistribution(tx, type, dist);
    if (oid !== undefined) await tx.set(SYSTEM, oid, '', { [FILES_PROPERTY]: names });
  });
}

export interface DeviceFiles {
  devicetype: string;
  distribution: string;
  /** Plain names, as the Meeting document lists them. */
  files: string[];
  /** The same files with size and sha256 (ours). */
  file_details: FileInfo[];
}

/**
 * The files of a device's current distribution. 400 when the device has no
 * type or no distribution, 404 when the folder is missing.
 */
export async function filesOfDevice(services: Services, storage: FlashStorage, deviceOid: number): Promise<DeviceFiles> {
  const v = (await services.store.get(SYSTEM, deviceOid)).values;
  const devicetype = v.device_type;
  const distribution = v.distribution;
  if (devicetype === '' || distribution === '') throw new FlashError(400, 'Device has no device type or distribution');
  const details = await storage.list(devicetype, distribution);
  if (details === undefined) throw new FlashError(404, 'Distribution folder not found');
  return { devicetype, distribution, files: details.map((f) => f.name), file_details: details };
}

/**
 * For POST /api/devices/{key}/flash-request: what the device should fetch,
 * never failing for a device that has nothing to fetch (no type, no
 * distribution, no folder, a name outside the pattern): `files` is empty then.
 */
export async function filesForDevice(services: Services, deviceOid: number): Promise<DeviceFiles> {
  const storage = new FlashStorage(services.config.flash_storage_root);
  try {
    return await filesOfDevice(services, storage, deviceOid);
  } catch (err) {
    if (!(err instanceof FlashError)) throw err;
    const v = (await services.store.get(SYSTEM, deviceOid)).values;
    return { devicetype: v.device_type, distribution: v.distribution, files: [], file_details: [] };
  }
}
