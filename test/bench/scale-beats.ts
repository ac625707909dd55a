/** The fleet's heartbeats as the scale benches send them: CLIENTS connections, each beat a device further along by a prime stride. */
import autocannon from 'autocannon';
import { deviceKeyOf, tokenOf } from './devices-ids.js';

export const CLIENTS = 200;

/** POST /api/devices/<key>/online over devices 0..devices-1 (every one once per `devices` beats); `amount` or `duration`. */
export function beatFleet(url: string, devices: number, opts: { duration?: number; amount?: number }): Promise<autocannon.Result> {
  let i = 0;
  return new Promise((resolve, reject) =>
    autocannon(
      {
        url,
        connections: CLIENTS,
        ...opts,
        requests: [
          {
            method: 'POST',
            setupRequest: (req) => {
              const n = (i = (i + 7919) % devices);
              return { ...req, path: `/api/devices/${deviceKeyOf(n)}/online`, headers: { 'x-device-token': tokenOf(n), 'content-type': 'application/json' }, body: '{}' };
            },
          },
        ],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    ),
  );
}
