/** Store errors to the document's statuses, in one place; unexpected errors are a bare 500. */
import t from 'tap';
import { CceError, badData, WHY_NOT_UNIQUE, permissionDenied, storageFailure, unknownObject } from '../src/errors.js';
import { FacadeError, fromStoreError, toFacadeError } from '../src/facades/meeting/replies.js';
import { adminClient } from './helpers/daemon.js';
import { catalogWorld, newDevice } from './helpers/meeting.js';

t.test('fromStoreError', async (t) => {
  const cases: [CceError, number, string][] = [
    [unknownObject(7), 404, 'Not found'],
    [badData(7, 'product_serial', WHY_NOT_UNIQUE), 409, 'product_serial already in use'],
    [badData(7, 'note', '[[base-cce.tooLong]]'), 400, 'invalid note'],
    [new CceError(302), 400, 'BAD DATA'],
    [permissionDenied('token_count'), 403, 'Permission denied'],
    [new CceError(309, '"backup"'), 503, 'Writes are suspended'],
    [new CceError(403, 'bad regex'), 400, 'BAD PARAMETERS bad regex'],
    [storageFailure('the store could not commit'), 503, 'Storage failure'],
  ];
  for (const [err, status, error] of cases) t.strictSame({ ...fromStoreError(err) }, { ...new FacadeError(status, { error }) }, error);
  t.equal(toFacadeError(new Error('boom')), undefined);
  t.equal(toFacadeError({ statusCode: 413 })?.status, 413);
  t.strictSame(toFacadeError({ statusCode: 413 })?.body, { error: 'Bad request' });
});

t.test('unexpected errors answer 500 without details; a distrib_json that is not JSON too', async (t) => {
  const { d, a } = await catalogWorld(t);
  const { key } = await newDevice(a);
  const c = await adminClient(d);
  const oid = await d.app.services.store.findOne('Device', '', 'device_key', key);
  await c.cmd(`SET ${oid} distrib_json="{not json"`);
  const notJson = await a.get(`/api/devices/${key}/distrib-json`);
  t.equal(notJson.status, 500);
  t.strictSame(notJson.body, { error: 'distrib.json is not valid JSON' });

  const store = d.app.services.store;
  const real = store.page;
  store.page = () => { throw new Error('secret internals'); };
  t.teardown(() => { store.page = real; });
  const r = await a.get('/api/devices');
  t.equal(r.status, 500);
  t.strictSame(r.body, { error: 'Internal error' });
  t.ok(d.logs.some((l) => l.includes('"internal error"') && l.includes('secret internals')), 'the cause is in the log');
});
