/**
 * The sections `npm run bench` runs, in order. A new one is one import and one
 * line here; each receives a BenchContext (lib.ts) and reports rows with it.
 */
import type { BenchSection } from './lib.js';
import { core } from './core.js';
// Written on other branches; add each line when its file lands on main:
// import { benchGate } from './gate.js';
// import { benchTx } from './tx.js';
// import { benchDevices } from './devices.js';

export const SECTIONS: readonly BenchSection[] = [
  core,
  // benchGate,
  // benchTx,
  // benchDevices,
];
