/**
 * Layered configuration: defaults < the config file < CCED_* environment variables.
 * The file is `--config FILE`, else CCED_CONFIG, else none (defaults alone work).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { configSchema, CONFIG_KEYS, type Config, type ConfigInput } from './schema.js';
import { packageRoot } from '../paths.js';

/** Start-up stops with this error's single-line message. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Environment variables with the prefix that are not configuration keys. */
const RESERVED_ENV = new Set(['CCED_CONFIG', 'CCED_ADMIN_PASSWORD', 'CCED_CERT_SOURCE']);

const isKey = (k: string): k is keyof ConfigInput => (CONFIG_KEYS as string[]).includes(k);

/** Parses the reference's `key = value` format; `#` starts a comment line. */
export function parseConfigText(text: string, source: string): ConfigInput {
  const out: ConfigInput = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const eq = line.indexOf('=');
    if (eq < 1) throw new ConfigError(`${source}:${index + 1}: expected "key = value"`);
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && /^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    if (!isKey(key)) throw new ConfigError(`${source}:${index + 1}: unknown key "${key}"`);
    out[key] = value;
  });
  return out;
}

/** Reads CCED_<KEY> variables. An unknown CCED_ variable is an error: it is most likely a typo. */
export function envInput(env: NodeJS.ProcessEnv): ConfigInput {
  const out: ConfigInput = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('CCED_') || RESERVED_ENV.has(name) || value === undefined) continue;
    const key = name.slice(5).toLowerCase();
    if (!isKey(key)) throw new ConfigError(`environment: unknown variable ${name}`);
    out[key] = value;
  }
  return out;
}

/** Validates merged input and fills the defaults that depend on other keys. */
export function resolveConfig(input: ConfigInput, baseDir = process.cwd()): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    const got = key && isKey(key) ? ` (got ${JSON.stringify(input[key])})` : '';
    throw new ConfigError(`config: ${key}: ${issue.message}${got}`);
  }
  const c = result.data;
  const stateDir = path.resolve(baseDir, c.state_dir);
  return {
    ...c,
    state_dir: stateDir,
    db_path: path.resolve(baseDir, c.db_path ?? path.join(stateDir, 'cced.db')),
    schema_dir: (c.schema_dir && c.schema_dir.length > 0 ? c.schema_dir : [path.join(packageRoot(), 'schema')]).map((d) =>
      path.resolve(baseDir, d),
    ),
    flash_storage_root: path.resolve(baseDir, c.flash_storage_root ?? path.join(stateDir, 'flash')),
    player_storage_root: path.resolve(baseDir, c.player_storage_root ?? path.join(stateDir, 'player')),
  };
}

export interface LoadOptions {
  argv?: string[];
  env?: NodeJS.ProcessEnv;
}

/** The config file named by `--config FILE` / `--config=FILE`, else CCED_CONFIG. */
export function configFileFrom(argv: string[], env: NodeJS.ProcessEnv): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config') {
      const next = argv[i + 1];
      if (next === undefined) throw new ConfigError('--config needs a file name');
      return next;
    }
    if (a.startsWith('--config=')) return a.slice('--config='.length);
  }
  return env.CCED_CONFIG || undefined;
}

export function loadConfig({ argv = process.argv.slice(2), env = process.env }: LoadOptions = {}): Config {
  const file = configFileFrom(argv, env);
  let fromFile: ConfigInput = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`config: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    fromFile = parseConfigText(text, file);
  }
  return resolveConfig({ ...fromFile, ...envInput(env) });
}
