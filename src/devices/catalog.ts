/**
 * The device catalog: DeviceType and Distribution objects and their rules,
 * whatever the door. A type's name is unique (a soft-deleted type still holds
 * it: creating that name again revives the object), a distribution's name is
 * unique within its type, a fork copies its original and a merge folds it
 * back, and a type's new name reaches every Distribution and Device naming the
 * old one inside the renaming write. DESTROY of a DeviceType is a soft delete
 * (schema/Device.json). The firmware folders follow from the store's own hooks
 * (src/flash/catalog.ts). Each operation is one group commit; a refusal is a
 * DeviceError (src/errors.ts).
 */
import type { Services } from '../services.js';
import type { Store } from '../store/store.js';
import { SYSTEM } from '../store/store.js';
import type { AclSubject } from '../schema/types.js';
import { DeviceError } from '../errors.js';
import { DEVICE, DEVICE_TYPE, DISTRIBUTION } from './classes.js';
import { distributionExists, isLiveType, requireLiveType } from './lookups.js';

/** Properties a fork takes from its original, and a merge gives back (name, prefix and status stay each type's own). */
const INHERITED = ['platform', 'services', 'distribution', 'icon_path'] as const;

/** Points every object of `classes` whose `device_type` is `from` at `to` (inside the caller's write, as the caller). */
export function retargetDeviceType(store: Store, subject: AclSubject, classes: readonly string[], from: string, to: string): void {
  for (const cls of classes) {
    for (const oid of store.find(subject, cls, { criteria: [{ ns: '', name: 'device_type', op: '=', value: from }] })) {
      store.set(subject, oid, '', { device_type: to });
    }
  }
}

/**
 * Renaming a type carries the name to its distributions, then its devices (a
 * device's distribution must be one of its type's), as the renaming caller: a
 * rename it may not carry through fails whole. Returns the unsubscribe function.
 */
export function installRenameCascade(store: Store): () => void {
  return store.watchValue(DEVICE_TYPE, 'name', ({ subject, from, to }) => retargetDeviceType(store, subject, [DISTRIBUTION, DEVICE], from, to));
}

function distributionsOf(store: Store, type: string): { name: string; description: string }[] {
  return store
    .find(SYSTEM, DISTRIBUTION, { criteria: [{ ns: '', name: 'device_type', op: '=', value: type }] })
    .map((oid) => store.rawValues(oid))
    .map((v) => ({ name: v.name!, description: v.description! }));
}

/**
 * Creates a device type (inside a write). A live type of that name refuses it;
 * a soft-deleted one still holds the name: the store's CREATE revives that
 * object with the new values (and its old distributions).
 */
function insertType(store: Store, subject: AclSubject, values: Record<string, unknown>): number {
  if (store.findOne(DEVICE_TYPE, '', 'name', String(values.name)) !== undefined) throw new DeviceError('device-type.exists');
  return store.create(subject, DEVICE_TYPE, values);
}

/** A distribution of a live type (inside a write), unless that type has it already. */
function insertDistribution(store: Store, subject: AclSubject, type: string, name: string, description = ''): void {
  const typeOid = store.findOne(DEVICE_TYPE, '', 'name', type);
  if (typeOid === undefined || store.rawValues(typeOid).deleted === '1') throw new DeviceError('device-type.unknown');
  if (distributionExists(store, type, name)) throw new DeviceError('distribution.exists');
  store.create(subject, DISTRIBUTION, { name, device_type: type, description });
}

export class Catalog {
  constructor(private readonly s: Pick<Services, 'store' | 'writer'>) {}

  private write<R>(mutation: (store: Store) => R): Promise<R> {
    return this.s.writer.submit(() => mutation(this.s.store));
  }

  createType(subject: AclSubject, values: Record<string, unknown>): Promise<number> {
    return this.write((store) => insertType(store, subject, values));
  }

  async createDistribution(subject: AclSubject, type: string, distribution: string): Promise<void> {
    await this.write((store) => insertDistribution(store, subject, type, distribution));
  }

  /** Updates a live type (a new name reaches its distributions, devices and folder). */
  async updateType(subject: AclSubject, oid: number, values: Record<string, unknown>): Promise<void> {
    await this.write((store) => store.set(subject, requireLiveType(store, oid), '', values));
  }

  /** A soft delete, as DESTROY is for a DeviceType by any door. */
  async deleteType(subject: AclSubject, oid: number): Promise<void> {
    await this.write((store) => store.destroy(subject, requireLiveType(store, oid)));
  }

  /** A new type copying the original's platform, services, distribution, icon and distributions; `forked_from` names the original. */
  forkType(subject: AclSubject, oid: number, name: string, serialPrefix: string | undefined): Promise<number> {
    return this.write((store) => {
      const orig = store.rawValues(requireLiveType(store, oid));
      const values: Record<string, unknown> = { name, serial_prefix: serialPrefix ?? orig.serial_prefix, forked_from: String(oid) };
      for (const k of INHERITED) values[k] = orig[k];
      const id = insertType(store, subject, values);
      for (const d of distributionsOf(store, orig.name!)) insertDistribution(store, subject, name, d.name, d.description);
      return id;
    });
  }

  /**
   * Folds a fork back into its original, in one transaction: the original takes
   * the fork's platform, services, distribution and icon, gains the fork's
   * distributions it lacks, the fork's devices move to the original, and the
   * fork is soft-deleted.
   */
  async mergeType(subject: AclSubject, oid: number): Promise<void> {
    await this.write((store) => {
      const fork = store.rawValues(requireLiveType(store, oid));
      if (!fork.forked_from) throw new DeviceError('device-type.not-a-fork');
      const origOid = Number(fork.forked_from);
      if (!isLiveType(store, origOid)) throw new DeviceError('device-type.original-gone');
      const target = store.rawValues(origOid).name!;
      const inherited: Record<string, unknown> = {};
      for (const k of INHERITED) inherited[k] = fork[k];
      store.set(subject, origOid, '', inherited);
      const added = distributionsOf(store, fork.name!).filter((d) => !distributionExists(store, target, d.name));
      for (const d of added) insertDistribution(store, subject, target, d.name, d.description);
      retargetDeviceType(store, subject, [DEVICE], fork.name!, target);
      store.destroy(subject, oid);
    });
  }
}
