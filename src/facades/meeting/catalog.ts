/**
 * The device catalog: DeviceType and Distribution objects, shared by
 * /api/device-types (the DeviceTypeController) and /api/flash/... (the Flash
 * side). Writes go through the store in one group commit each. The firmware
 * folders follow from the store's own hooks (src/flash/catalog.ts: a created
 * type or distribution gets its folder, a renamed type carries its name to
 * its distributions, devices and folder), so every path behaves alike.
 */
import type { Services } from '../../services.js';
import type { AclSubject } from '../../schema/types.js';
import { toJsonValue } from '../../schema/values.js';
import { SYSTEM } from '../../store/store.js';
import { fail } from './replies.js';
import { DEVICE, DEVICE_TYPE, DISTRIBUTION, distributionExists, retargetDeviceType, write } from './model.js';

/** Properties a fork takes from its original, and a merge gives back (name, prefix and status stay each type's own). */
const INHERITED = ['platform', 'services', 'distribution', 'icon_path'] as const;

/** The oid of a live device type by id, or 404. */
export function requireTypeId(s: Services, id: number): number {
  if (!s.store.exists(id) || s.store.objectClass(id).name !== DEVICE_TYPE || s.store.rawValues(id).deleted === '1') {
    throw fail(404, 'Device type not found');
  }
  return id;
}

/** A device type as /api/device-types shows it: its id and typed properties, without the soft-delete flag. */
export function presentType(s: Services, oid: number, values: Record<string, string>): Record<string, unknown> {
  const props = s.store.classDef(DEVICE_TYPE).namespaces.get('')!.properties;
  const out: Record<string, unknown> = { id: oid };
  for (const [name, value] of Object.entries(values)) {
    if (name === 'deleted') continue;
    out[name] = name === 'forked_from' && value === '' ? null : toJsonValue(props.get(name), value);
  }
  return out;
}

/** Oids of the live device types, in creation order. */
export function liveTypes(s: Services, subject: AclSubject): number[] {
  return s.store.find(subject, DEVICE_TYPE, { criteria: [{ ns: '', name: 'deleted', op: '=', value: '0' }] });
}

function distributionsOf(s: Services, type: string): { name: string; description: string }[] {
  return s.store
    .find(SYSTEM, DISTRIBUTION, { criteria: [{ ns: '', name: 'device_type', op: '=', value: type }] })
    .map((oid) => s.store.rawValues(oid))
    .map((v) => ({ name: v.name!, description: v.description! }));
}

/**
 * Creates a device type (inside a write). Its name is unique: a live type of
 * that name is a 409. A soft-deleted one still holds the name: the store's
 * CREATE revives that object with the new values (and its old distributions).
 */
function insertType(s: Services, subject: AclSubject, values: Record<string, unknown>): number {
  if (s.store.findOne(DEVICE_TYPE, '', 'name', String(values.name)) !== undefined) throw fail(409, 'Device type already exists');
  return s.store.create(subject, DEVICE_TYPE, values);
}

/** A distribution of a live type (inside a write): 404 for an unknown type, 409 when that type has it already. */
function insertDistribution(s: Services, subject: AclSubject, type: string, name: string, description = ''): void {
  const typeOid = s.store.findOne(DEVICE_TYPE, '', 'name', type);
  if (typeOid === undefined || s.store.rawValues(typeOid).deleted === '1') throw fail(404, 'Device type not found');
  if (distributionExists(s.store, type, name)) throw fail(409, 'Distribution already exists');
  s.store.create(subject, DISTRIBUTION, { name, device_type: type, description });
}

export class Catalog {
  constructor(private readonly s: Services) {}

  createType(subject: AclSubject, values: Record<string, unknown>): Promise<number> {
    return write(this.s, () => insertType(this.s, subject, values));
  }

  async createDistribution(subject: AclSubject, type: string, distribution: string): Promise<void> {
    await write(this.s, () => insertDistribution(this.s, subject, type, distribution));
  }

  /** Updates a live type (a new name reaches its distributions, devices and folder: see the class comment). */
  async updateType(subject: AclSubject, oid: number, values: Record<string, unknown>): Promise<void> {
    await write(this.s, () => this.s.store.set(subject, requireTypeId(this.s, oid), '', values));
  }

  /** A soft delete, as DESTROY is for a DeviceType by any door (schema/Device.json). */
  async deleteType(subject: AclSubject, oid: number): Promise<void> {
    await write(this.s, () => this.s.store.destroy(subject, requireTypeId(this.s, oid)));
  }

  /** A new type copying the original's platform, services, distribution, icon and distributions; `forked_from` names the original. */
  async forkType(subject: AclSubject, oid: number, name: string, serialPrefix: string | undefined): Promise<number> {
    const { s } = this;
    return write(s, () => {
      const orig = s.store.rawValues(requireTypeId(s, oid));
      const values: Record<string, unknown> = { name, serial_prefix: serialPrefix ?? orig.serial_prefix, forked_from: String(oid) };
      for (const k of INHERITED) values[k] = orig[k];
      const id = insertType(s, subject, values);
      for (const d of distributionsOf(s, orig.name!)) insertDistribution(s, subject, name, d.name, d.description);
      return id;
    });
  }

  /**
   * Folds a fork back into its original, in one transaction: the original takes
   * the fork's platform, services, distribution and icon, gains the fork's
   * distributions it lacks, the fork's devices move to the original, and the
   * fork is soft-deleted. 400 when the type is not a fork, 404 when its
   * original is gone.
   */
  async mergeType(subject: AclSubject, oid: number): Promise<void> {
    const { s } = this;
    await write(s, () => {
      const fork = s.store.rawValues(requireTypeId(s, oid));
      if (!fork.forked_from) throw fail(400, 'Device type is not a fork');
      const origOid = Number(fork.forked_from);
      if (!s.store.exists(origOid) || s.store.objectClass(origOid).name !== DEVICE_TYPE || s.store.rawValues(origOid).deleted === '1') {
        throw fail(404, 'Original device type not found');
      }
      const target = s.store.rawValues(origOid).name!;
      const inherited: Record<string, unknown> = {};
      for (const k of INHERITED) inherited[k] = fork[k];
      s.store.set(subject, origOid, '', inherited);
      const added = distributionsOf(s, fork.name!).filter((d) => !distributionExists(s.store, target, d.name));
      for (const d of added) insertDistribution(s, subject, target, d.name, d.description);
      retargetDeviceType(s.store, subject, [DEVICE], fork.name!, target);
      s.store.destroy(subject, oid);
    });
  }
}
