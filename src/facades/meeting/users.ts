/**
 * /api/users (the document's UserController): the same User objects as
 * /v2/cce, so a user created here can AUTH there. Passwords are hashed before
 * the transaction (hashWriteOnly) and never shown. The Meeting `role` is the
 * store's systemAdministrator flag seen through the schema (a derived
 * property: schema/UserMeeting.json), so role=admin makes a sysadmin by any
 * door, and the role shown is what the daemon actually grants. Disabling a
 * user or changing its password ends its tokens: the core's rule
 * (src/users/lifecycle.ts), as for every door.
 */
import { z } from 'zod';
import type { Services } from '../../services.js';
import type { Store } from '../../store/store.js';
import type { AclSubject } from '../../schema/types.js';
import { USER_CLASS } from '../../auth/auth.js';
import { hashWriteOnly } from '../../auth/write-only.js';
import type { Router } from './route.js';
import { fail } from './replies.js';
import { flag, text } from './schemas.js';
import { write } from './model.js';

const idParams = z.object({ id: z.string().regex(/^[1-9][0-9]{0,15}$/, 'a positive integer').transform(Number) });
const role = z.enum(['admin', 'user']);
const password = z.string().min(1).max(1024);
const ssh_pubkey = z.string().max(16384);

const createBody = z.object({ username: text(128), password, role: role.default('user'), authorized: flag.default(1), ssh_pubkey: ssh_pubkey.optional() });
const updateBody = z.object({
  username: text(128).optional(),
  password: password.optional(),
  role: role.optional(),
  ssh_pubkey: ssh_pubkey.optional(),
  authorized: flag.optional(),
});
type UserFields = Partial<z.output<typeof createBody>>;

/** The oid of a User, or 404. */
export async function requireUser(store: Store, id: number): Promise<number> {
  if (!(await store.exists(id)) || (await store.objectClass(id)).name !== USER_CLASS) throw fail(404, 'User not found');
  return id;
}

/** One user as GET /api/users/{id} and /api/auth/me show it. */
export async function presentUser(s: Services, subject: AclSubject, oid: number) {
  const v = (await s.store.get(subject, oid)).values;
  return {
    id: oid,
    username: v.name,
    role: v.role,
    ssh_pubkey: v.ssh_pubkey,
    authorized: Number(v.authorized),
  };
}

/** The document's fields as store properties; the password comes back hashed. */
async function toProperties(s: Services, subject: AclSubject, oid: number | undefined, f: UserFields): Promise<Record<string, unknown>> {
  const values: Record<string, unknown> = {};
  if (f.username !== undefined) values.name = f.username;
  if (f.role !== undefined) values.role = f.role;
  if (f.authorized !== undefined) values.authorized = String(f.authorized);
  if (f.ssh_pubkey !== undefined) values.ssh_pubkey = f.ssh_pubkey;
  if (f.password !== undefined) values.password = f.password;
  return hashWriteOnly(s.store, subject, s.store.classDef(USER_CLASS), '', oid, values);
}

/** 409 when another user already has this name (checked inside the writing transaction). */
async function checkNameFree(store: Store, name: string | undefined, self = -1): Promise<void> {
  if (name === undefined) return;
  const holder = await store.findOne(USER_CLASS, '', 'name', name);
  if (holder !== undefined && holder !== self) throw fail(409, 'Username already exists');
}

export function userRoutes(route: Router, s: Services): void {
  const { store } = s;

  route('GET', '/api/users', { access: 'admin' }, async ({ who }) => {
    const oids = await store.find(who.subject, USER_CLASS, { criteria: [] });
    const objects = await store.getMany(who.subject, oids);
    return { users: oids.map((oid) => ({ id: oid, username: objects.get(oid)!.namespaces.get('')!.name })) };
  });

  route('GET', '/api/users/:id', { access: 'admin', params: idParams }, async ({ who, params }) => presentUser(s, who.subject, await requireUser(store, params.id)));

  route('POST', '/api/users', { access: 'admin', body: createBody }, async ({ who, body }) => {
    const values = await toProperties(s, who.subject, undefined, body);
    const id = await write(s, async (tx) => {
      await checkNameFree(tx, body.username);
      return tx.create(who.subject, USER_CLASS, values);
    });
    return { success: true, id };
  });

  route('PUT', '/api/users/:id', { access: 'admin', params: idParams, body: updateBody }, async ({ who, params, body }) => {
    const oid = await requireUser(store, params.id);
    const values = await toProperties(s, who.subject, oid, body);
    if (Object.keys(values).length === 0) throw fail(400, 'Nothing to update');
    await write(s, async (tx) => {
      await requireUser(tx, oid);
      await checkNameFree(tx, body.username, oid);
      await tx.set(who.subject, oid, '', values);
    });
    return { success: true };
  });
}
