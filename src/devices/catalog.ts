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
import type { Store, StoreTx } from '../store/store.js';
import { SYSTEM } from '../store/store.js';
import type { AclSubject } from '../schema/types.js';
import { DeviceError } from '../errors.js';
import { DEVICE, DEVICE_TYPE, DISTRIBUTION } from './classes.js';
import { distributionExists, isLiveType, requireLiveType } from './lookups.js';

/** Properties a fork takes from its original, and a merge gives back (name, prefix and status stay each type's own). */
const INHERITED = ['platform', 'services', 'distribution', 'icon_path'] as const;

/** Points every object of `classes` whose `device_type` is `from` at `to` (inside the caller's write, as the caller). */
export async function retargetDeviceType(tx: StoreTx, subject: AclSubject, classes: readonly string[], from: string, to: string): Promise<void> {
  for (const cls of classes) {
    for (const oid of await tx.find(subject, cls, { criteria: [{ ns: '', name: 'device_type', op: '=', value: from }] })) {
      await tx.set(subject, oid, '', { device_type: to });
    }
  }
}

/**
 * Renaming a type carries the name to its distributions, then its devices (a
 * device's distribution must be one of its type's), as the renaming caller: a
 * rename it may not carry through fails whole. Returns the unsubscribe function.
 */
export function installRenameCascade(store: Store): () => void {
  return store.watchValue(DEVICE_TYPE, 'name', ({ subject, from, to }, tx) => retargetDeviceType(tx, subject, [DISTRIBUTION, DEVICE], from, to));
}

async function distributionsOf(store: Store, type: string): Promise<{ name: string; description: string }[]> {
  const out: { name: string; description: string }[] = [];
  for (const oid of await store.find(SYSTEM, DISTRIBUTION, { criteria: [{ ns: '', name: 'device_type', op: '=', value: type }] })) {
    const v = await store.rawValues(oid);
    out.push({ name: v.name!, description: v.description! });
  }
  return out;
}

/**
 * Creates a device type (inside a write). A live type of that name refuses it;
 * a soft-deleted one still holds the name: the store's CREATE revives that
 * object with the new values (and its old distributions).
 */
async function insertType(tx: StoreTx, subject: AclSubject, values: Record<string, unknown>): Promise<number> {
  if ((await tx.findOne(DEVICE_TYPE, '', 'name', String(values.name))) !== undefined) throw new DeviceError('device-type.exists');
  return tx.create(subject, DEVICE_TYPE, values);
}

/** A distribution of a live type (inside a write), unless that type has it already. */
async function insertDistribution(tx: StoreTx, subject: AclSubject, type: string, name: string, description = ''): Promise<void> {
  const typeOid = await tx.findOne(DEVICE_TYPE, '', 'name', type);
  if (typeOid === undefined || (await tx.rawValues(typeOid)).deleted === '1') throw new DeviceError('device-type.unknown');
  if (await distributionExists(tx, type, name)) throw new DeviceError('distribution.exists');
  await tx.create(subject, DISTRIBUTION, { name, device_type: type, description });
}

export class Catalog {
  constructor(private readonly s: Pick<Services, 'store' | 'writer'>) {}

  /** One group commit, reading and writing through `tx` (the store inside it). */
  private write<R>(mutation: (tx: StoreTx) => Promise<R>): Promise<R> {
    return this.s.writer.submit((w) => mutation(this.s.store.at(w)));
  }

  createType(subject: AclSubject, values: Record<string, unknown>): Promise<number> {
    return this.write((tx) => insertType(tx, subject, values));
  }

  async createDistribution(subject: AclSubject, type: string, distribution: string): Promise<void> {
    await this.write((tx) => insertDistribution(tx, subject, type, distribution));
  }

  /** Updates a live type (a new name reaches its distributions, devices and folder). */
  async updateType(subject: AclSubject, oid: number, values: Record<string, unknown>): Promise<void> {
    await this.write(async (tx) => tx.set(subject, await requireLiveType(tx, oid), '', values));
  }

  /** A soft delete, as DESTROY is for a DeviceType by any door. */
  async deleteType(subject: AclSubject, oid: number): Promise<void> {
    await this.write(async (tx) => tx.destroy(subject, await requireLiveType(tx, oid)));
  }

  /** A new type copying the original's platform, services, distribution, icon and distributions; `forked_from` names the original. */
  forkType(subject: AclSubject, oid: number, name: string, serialPrefix: string | undefined): Promise<number> {
    return this.write(async (tx) => {
      const orig = await tx.rawValues(await requireLiveType(tx, oid));
      const values: Record<string, unknown> = { name, serial_prefix: serialPrefix ?? orig.serial_prefix, forked_from: String(oid) };
      for (const k of INHERITED) values[k] = orig[k];
      const id = await insertType(tx, subject, values);
      for (const d of await distributionsOf(tx, orig.name!)) await insertDistribution(tx, subject, name, d.name, d.description);
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
    await this.write(async (tx) => {
      const fork = await tx.rawValues(await requireLiveType(tx, oid));
      if (!fork.forked_from) throw new DeviceError('device-type.not-a-fork');
      const origOid = Number(fork.forked_from);
      if (!(await isLiveType(tx, origOid))) throw new DeviceError('device-type.original-gone');
      const target = (await tx.rawValues(origOid)).name!;
      const inherited: Record<string, unknown> = {};
      for (const k of INHERITED) inherited[k] = fork[k];
      await tx.set(subject, origOid, '', inherited);
      for (const d of await distributionsOf(tx, fork.name!)) {
        if (!(await distributionExists(tx, target, d.name))) await insertDistribution(tx, subject, target, d.name, d.description);
      }
      await retargetDeviceType(tx, subject, [DEVICE], fork.name!, target);
      await tx.destroy(subject, oid);
    });
  }
}
