/**
 * Tunnels, SSH keys and ForceCommand: their paths, registered together over
 * the daemon's tunnel runtime (src/devices/tunnel-runtime.ts), which listens
 * when the HTTP server is ready and stops when it closes, and the ForceCommand
 * token (X-Meeting-Ssh-Token) those paths accept.
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.js';
import type { Router } from './route.js';
import { startTunnelRuntime } from '../../devices/tunnel-runtime.js';
import { loadSshToken } from './ssh-credential.js';
import { tunnelRoutes } from './tunnels.js';
import { sshKeyRoutes } from './ssh-keys.js';
import { forceCommandRoutes } from './forcecommand.js';

export function sshWorld(route: Router, s: Services, app: FastifyInstance): void {
  const rt = startTunnelRuntime(s);
  app.addHook('onReady', () => rt.listen());
  app.addHook('onClose', () => rt.close());
  const sshToken = loadSshToken(s.config.state_dir);
  tunnelRoutes(route, s, rt, sshToken);
  sshKeyRoutes(route, s, rt, sshToken);
  forceCommandRoutes(route, s, rt, sshToken);
}
