/** Helpers for the tunnel and SSH key tests: a device that may have a tunnel, the SSH token, key pairs from ssh-keygen. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { TestDaemon } from './daemon.js';
import { deviceRest, newDevice, type Rest } from './meeting.js';
import ssh2 from 'ssh2';
import { SSH_TOKEN_FILE } from '../../src/auth/credentials/ssh-token.js';
import { tunnelRuntime } from '../../src/devices/tunnel-runtime.js';
import { ephemeralPorts } from '../../src/tunnels/ephemeral-ports.js';

const LOWEST = 10000;

/** A port range of its own for each daemon of a test run (other test processes run at the same time), below the ports of outgoing connections. */
export function portRange(size = 100): { tunnel_port_min: string; tunnel_port_max: string; min: number } {
  // Inside the kernel's range for outgoing connections a forward can find its port held (src/tunnels/ephemeral-ports.ts).
  const ranges = Math.floor(((ephemeralPorts()?.min ?? 32768) - LOWEST) / 100) - 1;
  const min = LOWEST + Math.floor(Math.random() * ranges) * 100;
  return { tunnel_port_min: String(min), tunnel_port_max: String(min + size - 1), min };
}

/** A registered device, authorized, with tokens, that has just sent a heartbeat. */
export async function onlineDevice(a: Rest, d: TestDaemon, tokens = 3): Promise<{ key: string; token: string; dev: Rest }> {
  const { key, token } = await newDevice(a);
  for (const [path, body] of [[`/api/devices/${key}/authorize`, { authorized: 1 }], [`/api/devices/${key}/tokens`, { token_count: tokens }]] as const) {
    const r = await a.put(path, body);
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.text}`);
  }
  const dev = deviceRest(d, token);
  const beat = await dev.post(`/api/devices/${key}/online`, {});
  if (beat.status !== 200) throw new Error(`online: ${beat.status} ${beat.text}`);
  return { key, token, dev };
}

export const sshToken = (d: TestDaemon) => readFileSync(path.join(d.config.state_dir, SSH_TOKEN_FILE), 'utf8').trim();

/** An ed25519 key pair made by ssh-keygen in `dir`: the private key's path and the public line. */
export function keygen(dir: string, name: string): { file: string; pub: string } {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@test`, '-f', file]);
  return { file, pub: readFileSync(`${file}.pub`, 'utf8').trim() };
}

/** Logs in over SSH as `username` with one key; true when the server accepted it. */
export function sshLogin(d: TestDaemon, username: string, keyFile: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = new ssh2.Client();
    c.on('ready', () => {
      c.end();
      resolve(true);
    });
    c.on('error', () => resolve(false));
    c.on('close', () => resolve(false));
    c.connect({ host: '127.0.0.1', port: tunnelRuntime(d.app.services).sshAddress!.port, username, privateKey: readFileSync(keyFile), readyTimeout: 10_000 });
  });
}
