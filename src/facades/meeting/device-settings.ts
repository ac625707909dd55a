/**
 * One property per path (the document's flash-side settings and relations):
 * PUT /api/devices/{key}/<path> {"<field>": value} -> {"success": true, "<field>": echo}.
 * Plus POST .../flash-request, which spends a flash token (src/devices/flash-tokens.ts).
 */
import { z } from 'zod';
import type { Services } from '../../services.js';
import { encodeArray } from '../../schema/values.js';
import type { Router } from './route.js';
import { flag, keyParams, text } from './schemas.js';
import { write } from './model.js';
import { requireDevice } from '../../devices/lookups.js';
import { takeFlashToken } from '../../devices/flash-tokens.js';
import { filesForDevice } from '../../flash/catalog.js';
import { settingDeclaration } from './declared/devices.js';

interface Setting<V> {
  path: string;
  field: string;
  schema: z.ZodType<V>;
  /** The stored value (default: the value itself). */
  toStore?: (v: V) => unknown;
  /** The reply's echo (default: the value itself). */
  echo?: (v: V) => unknown;
}

const setting = <V>(s: Setting<V>) => s as Setting<unknown>;

const SETTINGS = [
  setting({ path: 'authorize', field: 'authorized', schema: flag, toStore: String }),
  setting({ path: 'tokens', field: 'token_count', schema: z.number().int('token_count must be an integer').min(0) }),
  // References (a distribution of the device's type, an existing parent other than itself, a live type)
  // are the store's to check, as for every door (schema/Device.json).
  setting({ path: 'distribution', field: 'distribution', schema: text(128) }),
  setting({ path: 'token-code', field: 'token_code', schema: text(128) }),
  setting({ path: 'parent', field: 'parent_device_key', schema: z.string().max(128) }),
  setting({ path: 'ghost', field: 'ghost_candidate_url', schema: z.string().max(4096) }),
  // The document echoes bundles as a JSON string.
  setting({ path: 'bundles', field: 'bundles', schema: z.array(z.string().max(128)).max(1000), toStore: encodeArray, echo: (v) => JSON.stringify(v) }),
  setting({ path: 'product-serial', field: 'product_serial', schema: text(64) }),
  setting({ path: 'device-type', field: 'device_type', schema: text(128) }),
];

export function deviceSettingRoutes(route: Router, s: Services): void {
  const { store } = s;
  for (const def of SETTINGS) {
    const body = z.object({ [def.field]: def.schema });
    route('PUT', `/api/devices/:key/${def.path}`, { access: 'admin', params: keyParams, body, doc: settingDeclaration(def.field) }, async ({ who, params, body }) => {
      const oid = await requireDevice(store, params.key);
      const value = (body as Record<string, unknown>)[def.field];
      await write(s, (tx) => tx.set(who.subject, oid, '', { [def.field]: def.toStore ? def.toStore(value) : value }));
      return { success: true, [def.field]: def.echo ? def.echo(value) : value };
    });
  }

  route('POST', '/api/devices/:key/flash-request', { access: 'device', params: keyParams }, async ({ who, params }) => {
    const oid = who.deviceOid ?? await requireDevice(store, params.key);
    const left = await write(s, async (tx) => takeFlashToken(tx, who.subject, oid));
    // The answer also says what the device should fetch: its distribution's firmware files.
    return { success: true, tokens_left: left, ...(await filesForDevice(s, oid)) };
  });
}
