/**
 * Every REST facade the server mounts, in one table: a new facade is one
 * folder under src/facades/ and one line here. Each is a fastify plugin over
 * the daemon's services; it translates requests to the core and the core's
 * answers (and error codes, src/errors.ts) to its document's shapes.
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';
import { meetingFacade } from './meeting/plugin.js';
import { pantahubFacade } from './pantahub/plugin.js';

/** The shared kit every facade builds its paths with (router, access levels over the credential chain). */
export type { Router as FacadeRouter, Access as FacadeAccess } from './kit/router.js';

export interface Facade {
  /** The folder under src/facades/ and the name in logs. */
  readonly name: string;
  readonly plugin: (app: FastifyInstance, opts: { services: Services }) => Promise<void>;
}

export const FACADES: readonly Facade[] = [
  { name: 'meeting', plugin: meetingFacade },
  { name: 'pantahub', plugin: pantahubFacade },
];
