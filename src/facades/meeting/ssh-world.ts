/** Tunnels, SSH keys and ForceCommand: their runtime (SSH server, sweeper, token) and their paths, registered together. */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.js';
import type { Router } from './route.js';
import { startTunnelRuntime } from './tunnel-runtime.js';
import { tunnelRoutes } from './tunnels.js';
import { sshKeyRoutes } from './ssh-keys.js';
import { forceCommandRoutes } from './forcecommand.js';

export function sshWorld(route: Router, s: Services, app: FastifyInstance): void {
  const rt = startTunnelRuntime(s, app);
  tunnelRoutes(route, s, rt);
  sshKeyRoutes(route, s, rt);
  forceCommandRoutes(route, s, rt);
}
