import t from 'tap';
import { startDaemon, adminClient } from './helpers/daemon.js';

t.test('PING and an authenticated GET over HTTP', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const c = await adminClient(d);
  const ping = await c.raw({ cmd: 'PING' });
  t.equal(ping.status, 200);
  t.same(ping.body, { status: 202, message: 'PONG' });
  const get = await c.cmd('GET 1');
  t.equal(get.body.data.DATA.CLASS, 'System');
});
