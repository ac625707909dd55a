/**
 * The kernel's range for outgoing connections' local ports (Linux:
 * /proc/sys/net/ipv4/ip_local_port_range). A tunnel port inside it can be
 * held by any connection's local end (the daemon's own to PostgreSQL, say),
 * and the device's forward is then refused: the daemon says so at start.
 */
import { readFileSync } from 'node:fs';

const RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';

/** The range, or undefined where the system does not tell it. */
export function ephemeralPorts(): { min: number; max: number } | undefined {
  try {
    const [min, max] = readFileSync(RANGE_FILE, 'utf8').trim().split(/\s+/).map(Number);
    return Number.isInteger(min) && Number.isInteger(max) && min! <= max! ? { min: min!, max: max! } : undefined;
  } catch {
    return undefined;
  }
}

/** The ports of min..max inside the ephemeral range, as [first, last]; undefined when none is. */
export function overlapWithEphemeral(min: number, max: number, ephemeral = ephemeralPorts()): [number, number] | undefined {
  if (ephemeral === undefined) return undefined;
  const first = Math.max(min, ephemeral.min);
  const last = Math.min(max, ephemeral.max);
  return first <= last ? [first, last] : undefined;
}
