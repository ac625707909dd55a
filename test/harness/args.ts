/** `--name value` pairs of a harness script's command line, numbers only. */
export function numberArgs(argv: string[], defaults: Record<string, number>): Record<string, number> {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]!);
    if (!m || !(m[1]! in defaults)) throw new Error(`unknown argument ${argv[i]} (known: ${Object.keys(defaults).map((k) => `--${k}`).join(' ')})`);
    const value = Number(m[2] ?? argv[++i]);
    if (!Number.isFinite(value)) throw new Error(`--${m[1]} needs a number`);
    out[m[1]!] = value;
  }
  return out;
}
