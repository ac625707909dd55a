/**
 * Tunnels, SSH keys and ForceCommand: their paths, registered together over
 * the daemon's tunnel runtime (src/devices/tunnel-runtime.ts), which listens
 * when the HTTP server is ready and stops when it closes.
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.js';
import type { Router } from './route.js';
import { startTunnelRuntime } from '../../devices/tunnel-runtime.js';
import { loadSshToken } from '../../auth/credentials/ssh-token.js';
import { tunnelRoutes } from './tunnels.js';
import { sshKeyRoutes } from './ssh-keys.js';
import { forceCommandRoutes } from './forcecommand.js';

export function sshWorld(route: Router, s: Services, app: FastifyInstance): void {
  const rt = startTunnelRuntime(s);
  app.addHook('onReady', () => rt.listen());
  app.addHook('onClose', () => rt.close());
  // Made at start, for the ForceCommand script to read; the credential chain checks it (src/auth/credentials/ssh-token.ts).
  loadSshToken(s.config.state_dir);
  tunnelRoutes(route, s, rt);
  sshKeyRoutes(route, s, rt);
  forceCommandRoutes(route, s, rt);
}
