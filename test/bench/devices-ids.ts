/** The bench's device keys and token codes, derived from an index so both threads agree without sharing them. */
export const deviceKeyOf = (i: number) => `BENCH${String(i).padStart(8, '0')}`;
export const tokenOf = (i: number) => `bench-device-token-${i}`;
