/**
 * The daemon's memory stays flat while a 200 MiB firmware file is uploaded:
 * the upload streams to disk. The daemon runs in its own process so the
 * client's buffers are not counted; its RSS is sampled from /proc while the
 * body streams. A bound on memory, not on time.
 */
import t from 'tap';
import { http } from './helpers/daemon.js';
import { ADMIN_PASSWORD, CceClient, type TestDaemon } from './helpers/daemon.js';
import { spawnDaemon } from './helpers/child-daemon.js';
import { pattern, sendMultipart, sha256Of, type Part } from './helpers/multipart.js';

const MiB = 1024 * 1024;

t.test('RSS grows by less than 64 MiB while 200 MiB are uploaded', async (t) => {
  const d = await spawnDaemon();
  t.teardown(() => d.close());
  const cce = await new CceClient({ url: d.url } as TestDaemon).login();
  for (const [cls, args] of [['DeviceType', { name: 'rpi4' }], ['Distribution', { name: 'prod', device_type: 'rpi4' }]] as const) {
    t.equal((await cce.cmd({ cmd: 'CREATE', class: cls, args })).status, 200, `CREATE ${cls}`);
  }
  const bearer = (await http(`${d.url}/api/auth/login`, { username: 'admin', password: ADMIN_PASSWORD })).body.token as string;
  const send = (name: string, size: number, onChunk?: () => void) => {
    const parts: Part[] = [
      { name: 'devicetype', value: 'rpi4' },
      { name: 'distribution', value: 'prod' },
      { name: 'file', filename: name, content: pattern(size), size },
    ];
    return sendMultipart(`${d.url}/api/flash/upload`, parts, { headers: { authorization: `Bearer ${bearer}` }, onChunk });
  };

  // Warm up (JIT, lazily loaded modules, the first pages of the heap) before the baseline.
  t.equal((await send('warm.bin', 8 * MiB)) !== 'cut' && 200, 200);
  const baseline = d.rss();
  let peak = baseline;
  const size = 200 * MiB;
  const r = await send('big.bin', size, () => { peak = Math.max(peak, d.rss()); });
  peak = Math.max(peak, d.rss());
  t.not(r, 'cut');
  if (r === 'cut') return;
  t.equal(r.status, 200);
  t.same(r.body, { success: true, file: 'big.bin', size, sha256: await sha256Of(pattern(size)) });
  const grown = (peak - baseline) / MiB;
  t.comment(`RSS baseline ${(baseline / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB, grew ${grown.toFixed(1)} MiB`);
  t.ok(grown < 64, `RSS grew ${grown.toFixed(1)} MiB (< 64 MiB)`);
});
