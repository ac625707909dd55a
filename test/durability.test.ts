/**
 * An acknowledged write survives kill -9: the daemon runs as a child process
 * with the default synchronous=FULL, takes a burst of concurrent CREATEs (group
 * commit batches them), and is killed while replies are still arriving. After
 * a restart on the same state dir, every CREATE that was answered is there,
 * and no oid is ever handed out twice.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent } from 'node:http';
import { spawnDaemon, type ChildDaemon } from './helpers/child-daemon.js';
import { http, ADMIN_PASSWORD } from './helpers/daemon.js';

const ROUNDS = 3;
const BURST = 300;

async function session(d: ChildDaemon): Promise<Record<string, string>> {
  const r = await http(`${d.url}/v2/cce`, { cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD });
  return { user: 'admin', sessionid: r.body.data.sessionid };
}

t.test('every acknowledged CREATE survives kill -9', async (t) => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'cced-durable-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const env = { CCED_DB_SYNCHRONOUS: 'FULL' };
  const acked = new Map<string, string>(); // oid -> name
  for (let round = 0; round < ROUNDS; round++) {
    const d = await spawnDaemon(env, { stateDir });
    const creds = await session(d);
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    let answered = 0;
    const killAfter = 50 + Math.floor(Math.random() * 150);
    let killing: Promise<void> | undefined;
    const burst = Array.from({ length: BURST }, (_, i) => {
      const name = `r${round}n${i}`;
      return new Promise<void>((resolve) => {
        // Raw requests: once the daemon is killed, the rest fail and are simply not acknowledged.
        http(`${d.url}/v2/cce`, { cmd: `CREATE User name="${name}"`, ...creds }, { agent })
          .then((r) => {
            if (r.status === 200) acked.set(r.body.data.oid, name);
            if (++answered === killAfter) killing = d.kill();
          })
          .catch(() => undefined)
          .finally(resolve);
      });
    });
    await Promise.all(burst);
    await (killing ?? d.kill());
    agent.destroy();
    t.ok(answered >= killAfter, `round ${round}: ${answered} answered before or while being killed`);
  }
  const d = await spawnDaemon(env, { stateDir });
  t.teardown(() => d.close());
  const creds = await session(d);
  const oids = [...acked.keys()];
  const all = await http(`${d.url}/v2/cce`, { cmd: 'GETALL', oids, ...creds });
  const found = all.body.data.objects as Record<string, { OBJECT: { name: string } }>;
  const missing = oids.filter((oid) => found[oid]?.OBJECT.name !== acked.get(oid));
  t.same(missing, [], `all ${oids.length} acknowledged CREATEs are present with their names`);
  t.equal(new Set(oids).size, oids.length, 'no oid was handed out twice');
});
