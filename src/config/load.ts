/**
 * Layered configuration: defaults < the config file < the instance's file < CCED_* environment variables.
 * The file is `--config FILE`, else CCED_CONFIG, else none (defaults alone work). An instance
 * (`--instance NAME`, else CCED_INSTANCE) adds `<file's name>.NAME.conf` beside that file, which must
 * state its own state_dir: two instances on one host never share a store.
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
const RESERVED_ENV = new Set(['CCED_CONFIG', 'CCED_INSTANCE', 'CCED_ADMIN_PASSWORD', 'CCED_CERT_SOURCE', 'CCED_CHECK_REPLIES']);

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
    // A refused secret (db_url may carry a password) is not echoed.
    const got = key && isKey(key) && key !== 'db_url' ? ` (got ${JSON.stringify(input[key])})` : '';
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

/** The value of `--NAME VALUE` / `--NAME=VALUE` in argv, if given. */
function option(argv: string[], name: string, what: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${name}`) {
      const next = argv[i + 1];
      if (next === undefined) throw new ConfigError(`--${name} needs ${what}`);
      return next;
    }
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

/** The config file named by `--config FILE` / `--config=FILE`, else CCED_CONFIG. */
export function configFileFrom(argv: string[], env: NodeJS.ProcessEnv): string | undefined {
  return option(argv, 'config', 'a file name') ?? (env.CCED_CONFIG || undefined);
}

/** An instance name is part of a file name: letters, digits, '-' and '_'. */
const INSTANCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** The instance named by `--instance NAME` / `--instance=NAME`, else CCED_INSTANCE; undefined when none. */
export function instanceFrom(argv: string[], env: NodeJS.ProcessEnv): string | undefined {
  const name = option(argv, 'instance', 'a name') ?? (env.CCED_INSTANCE || undefined);
  if (name !== undefined && !INSTANCE_NAME.test(name)) {
    throw new ConfigError(`instance: ${JSON.stringify(name)} is not a valid instance name (letters, digits, '-' and '_', at most 64)`);
  }
  return name;
}

/** `/etc/cced/cced.conf` and `a` give `/etc/cced/cced.a.conf`. */
export function instanceFile(baseFile: string, instance: string): string {
  const ext = path.extname(baseFile);
  return path.join(path.dirname(baseFile), `${path.basename(baseFile, ext)}.${instance}${ext}`);
}

function readConfigFile(file: string): ConfigInput {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`config: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseConfigText(text, file);
}

/** A loaded configuration and where it came from (the console says which configuration and store it acts on). */
export interface LoadedConfig {
  config: Config;
  /** The files read, in order (none: the built-in defaults). */
  files: string[];
  instance?: string;
  /** The CCED_<KEY> variables that overrode a value. */
  envKeys: string[];
}

export function loadConfigFrom({ argv = process.argv.slice(2), env = process.env }: LoadOptions = {}): LoadedConfig {
  const file = configFileFrom(argv, env);
  const instance = instanceFrom(argv, env);
  const files: string[] = [];
  let input: ConfigInput = {};
  if (file !== undefined) {
    input = readConfigFile(file);
    files.push(file);
  }
  if (instance !== undefined) {
    if (file === undefined) throw new ConfigError(`instance ${instance}: needs a configuration file (--config or CCED_CONFIG) to find cced.${instance}.conf beside it`);
    const own = instanceFile(file, instance);
    const overrides = readConfigFile(own);
    if (overrides.state_dir === undefined) throw new ConfigError(`config: ${own}: an instance states its own state_dir (two instances never share a store)`);
    input = { ...input, ...overrides };
    files.push(own);
  }
  const fromEnv = envInput(env);
  return { config: resolveConfig({ ...input, ...fromEnv }), files, ...(instance !== undefined ? { instance } : {}), envKeys: Object.keys(fromEnv) };
}

export function loadConfig(options: LoadOptions = {}): Config {
  return loadConfigFrom(options).config;
}
