/**
 * Configuration: the `key = value` parser, CCED_* variables, validation and
 * defaults (src/config/schema.ts), the --config/CCED_CONFIG lookup, the
 * layering in loadConfig, and that etc/cced.conf never drifts from the defaults.
 */
import t from 'tap';
import path from 'node:path';
import * as fs from 'node:fs';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  configFileFrom,
  envInput,
  loadConfig,
  parseConfigText,
  resolveConfig,
} from '../src/config/load.js';
import { CONFIG_KEYS, type Config, type ConfigInput } from '../src/config/schema.js';
import { packageRoot } from '../src/paths.js';

const repo = fileURLToPath(new URL('..', import.meta.url));

/** The error `fn` throws, asserted to be a ConfigError. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

t.test('parseConfigText', async (t) => {
  t.test('keys and values, comments and blank lines', async (t) => {
    const text = [
      '# a comment',
      '; another comment',
      '',
      '   ',
      '  # indented comment',
      'listen_address = 0.0.0.0:9092',
      'token_lifetime=600',
      '  debuglog   =   true  ',
      'api_access = 10.0.0.0/8, 192.168.1.1/32',
    ].join('\n');
    t.same(parseConfigText(text, 'f.conf'), {
      listen_address: '0.0.0.0:9092',
      token_lifetime: '600',
      debuglog: 'true',
      api_access: '10.0.0.0/8, 192.168.1.1/32',
    });
  });

  t.test('CRLF line endings', async (t) => {
    t.same(parseConfigText('logging = false\r\ndebuglog = true\r\n', 'f'), { logging: 'false', debuglog: 'true' });
  });

  t.test('quotes around a value are removed, only when they match', async (t) => {
    const p = (v: string) => parseConfigText(`state_dir = ${v}`, 'f').state_dir;
    t.equal(p('"/a b/c"'), '/a b/c');
    t.equal(p("'/a b/c'"), '/a b/c');
    t.equal(p('""'), '');
    t.equal(p('"'), '"', 'a lone quote is kept');
    t.equal(p('"abc\''), '"abc\'', 'mismatched quotes are kept');
    t.equal(p('"abc'), '"abc');
    t.equal(p('a=b'), 'a=b', 'only the first = splits');
    t.equal(p(''), '', 'an empty value');
  });

  t.test('a later line wins', async (t) => {
    t.same(parseConfigText('logging = true\nlogging = false', 'f'), { logging: 'false' });
  });

  t.test('an unknown key is an error naming the key, the file and the line', async (t) => {
    const e = configError(() => parseConfigText('# c\nlogging = true\nunix_socket_path = /x', '/etc/cced/cced.conf'));
    t.equal(e.name, 'ConfigError');
    t.equal(e.message, '/etc/cced/cced.conf:3: unknown key "unix_socket_path"');
  });

  t.test('a line without "key =" is an error', async (t) => {
    t.equal(configError(() => parseConfigText('\nlogging true', 'f')).message, 'f:2: expected "key = value"');
    t.equal(configError(() => parseConfigText('= true', 'f')).message, 'f:1: expected "key = value"');
  });
});

t.test('envInput', async (t) => {
  t.test('CCED_<KEY> variables become keys; others are ignored', async (t) => {
    t.same(
      envInput({
        CCED_TOKEN_LIFETIME: '600',
        CCED_LISTEN_ADDRESS: '[::1]:9093',
        CCED_api_ban_time: '10',
        PATH: '/usr/bin',
        HOME: '/root',
        cced_logging: 'false',
      }),
      { token_lifetime: '600', listen_address: '[::1]:9093', api_ban_time: '10' },
    );
  });

  t.test('CCED_CONFIG and CCED_ADMIN_PASSWORD are not configuration keys', async (t) => {
    t.same(envInput({ CCED_CONFIG: '/etc/cced/cced.conf', CCED_ADMIN_PASSWORD: 'secret' }), {});
  });

  t.test('an undefined value is skipped', async (t) => {
    t.same(envInput({ CCED_LOGGING: undefined }), {});
  });

  t.test('an unknown CCED_ variable is an error (most likely a typo)', async (t) => {
    t.equal(
      configError(() => envInput({ CCED_TOKEN_LIFETIMES: '600' })).message,
      'environment: unknown variable CCED_TOKEN_LIFETIMES',
    );
    t.equal(configError(() => envInput({ CCED_: 'x' })).message, 'environment: unknown variable CCED_');
  });
});

t.test('resolveConfig', async (t) => {
  t.test('defaults', async (t) => {
    const base = t.testdir({});
    const stateDir = path.join(base, 'var');
    // The TLS paths and player_storage_root (resolved by the player facade) are optional and absent (not undefined-valued) when unset,
    // although Config types them as present keys of type string | undefined.
    const expected: Omit<Config, 'cert_file' | 'key_file' | 'ca_cert_file' | 'ssh_listen_address'> = {
      listen_address: { host: '127.0.0.1', port: 9092 },
      enable_http: false,
      logging: true,
      debuglog: false,
      api_access: [],
      device_access: [],
      rest_login_remote: false,
      pantahub_prefix: '',
      pantahub_challenge_ttl: 86400,
      pantahub_claim_fails_per_device: 20,
      pantahub_registrations_per_address: 60,
      token_lifetime: 300,
      api_auth_fails: 5,
      api_ban_time: 60,
      state_dir: stateDir,
      db_path: path.join(stateDir, 'cced.db'),
      schema_dir: [path.join(packageRoot(), 'schema')],
      session_lifetime: 3600,
      local_addresses: ['127.0.0.1', '::1'],
      trusted_proxies: [],
      max_body_bytes: 1024 * 1024,
      max_queue: 10000,
      max_results: 10000,
      max_scan_rows: 50000,
      max_sort_rows: 100000,
      max_reply_bytes: 32 * 1024 * 1024,
      request_timeout: 600,
      headers_timeout: 20,
      connection_timeout: 60,
      keepalive_timeout: 10,
      max_connections_per_ip: 256,
      max_connections: 2048,
      shutdown_timeout: 10,
      max_preauth_body_bytes: 16 * 1024,
      max_body_bytes_in_flight: 64 * 1024 * 1024,
      max_sessions_per_user: 100,
      max_tokens_per_client: 1000,
      oidc_issuer: '',
      oidc_audience: '',
      oidc_user_claim: 'preferred_username',
      oidc_admin_claim: '',
      oidc_admin_value: '',
      oidc_auto_create: false,
      oidc_algorithms: ['RS256', 'ES256'],
      oidc_clock_tolerance: 30,
      oidc_jwks_cooldown: 30,
      max_queue_bytes: 16 * 1024 * 1024,
      max_queue_bytes_per_user: 64 * 1024 * 1024,
      max_queue_bytes_total: 256 * 1024 * 1024,
      password_hash_jobs: 2,
      db_synchronous: 'FULL',
      db_url: '',
      status_max_logs: 100,
      device_heartbeat_timeout: 180,
      heartbeat_flush_ms: 0,
      device_credential_cache: 1_000_000,
      event_retention: 100_000,
      event_retention_age: 7 * 24 * 3600,
      event_heartbeat_interval: 60,
      event_max_wait: 30,
      event_keepalive: 15,
      event_streams_per_ip: 16,
      event_stream_buffer_bytes: 1024 * 1024,
      flash_storage_root: path.join(stateDir, 'flash'),
      player_storage_root: path.join(stateDir, 'player'),
      flash_max_file_bytes: 512 * 1024 * 1024,
      flash_allowed_extensions: ['bin', 'img', 'gz', 'xz', 'zst', 'zip', 'tar', 'swu', 'raucb', 'json'],
      tunnel_host: '127.0.0.1',
      tunnel_port_min: 9050,
      tunnel_port_max: 9149,
      tunnel_lifetime: 3600,
      tunnel_max_last_seen: 60,
      player_max_file_bytes: 1024 * 1024 * 1024,
      player_allowed_extensions: ['mp4', 'webm', 'mkv', 'mov', 'm4v', 'jpg', 'jpeg', 'png', 'webp'],
    };
    t.strictSame(resolveConfig({}, base), expected);
    t.equal(packageRoot(), path.resolve(repo), 'the package root is this repository');
  });

  t.test('the base directory defaults to the working directory', async (t) => {
    const c = resolveConfig({});
    t.equal(c.state_dir, path.resolve(process.cwd(), 'var'));
    t.ok(path.isAbsolute(c.db_path));
  });

  t.test('values are coerced', async (t) => {
    const c = resolveConfig(
      {
        listen_address: ' 0.0.0.0:443 ',
        enable_http: 'YES',
        logging: 'off',
        debuglog: '1',
        token_lifetime: ' 42 ',
        heartbeat_flush_ms: '0',
        api_access: ' 10.0.0.0/8 ,, 2001:db8::/32 , ',
        db_synchronous: 'NORMAL',
        cert_file: '/etc/cced/certs/certificate',
        key_file: '',
      },
      '/srv',
    );
    t.same(c.listen_address, { host: '0.0.0.0', port: 443 });
    t.equal(c.enable_http, true);
    t.equal(c.logging, false);
    t.equal(c.debuglog, true);
    t.equal(c.token_lifetime, 42);
    t.equal(c.heartbeat_flush_ms, 0);
    t.same(c.api_access, ['10.0.0.0/8', '2001:db8::/32']);
    t.equal(c.db_synchronous, 'NORMAL');
    t.equal(c.cert_file, '/etc/cced/certs/certificate');
    t.equal(c.key_file, undefined, 'an empty path means unset');
    const bools: [string, boolean][] = [
      ['true', true], ['1', true], ['yes', true], ['on', true], ['TRUE', true],
      ['false', false], ['0', false], ['no', false], ['off', false], [' False ', false],
    ];
    for (const [v, want] of bools) t.equal(resolveConfig({ logging: v }).logging, want, `logging = ${v}`);
  });

  t.test('listen addresses', async (t) => {
    const l = (v: string) => resolveConfig({ listen_address: v }).listen_address;
    t.same(l('[::1]:9092'), { host: '::1', port: 9092 });
    t.same(l('[::]:80'), { host: '::', port: 80 });
    t.same(l('[::ffff:127.0.0.1]:1'), { host: '::ffff:127.0.0.1', port: 1 });
    t.same(l('localhost:65535'), { host: 'localhost', port: 65535 });
    t.same(l('10.1.2.3:0'), { host: '10.1.2.3', port: 0 });
  });

  t.test('dependent defaults and relative paths', async (t) => {
    const c = resolveConfig(
      { state_dir: 'data', db_path: '/db/x.db', schema_dir: 'schema, /opt/extra,', flash_storage_root: 'fw' },
      '/srv/cced',
    );
    t.equal(c.state_dir, '/srv/cced/data');
    t.equal(c.db_path, '/db/x.db');
    t.same(c.schema_dir, ['/srv/cced/schema', '/opt/extra']);
    t.equal(c.flash_storage_root, '/srv/cced/fw');
    const d = resolveConfig({ state_dir: '/var/lib/cced', schema_dir: ' , ' }, '/srv');
    t.equal(d.db_path, '/var/lib/cced/cced.db');
    t.same(d.schema_dir, [path.join(packageRoot(), 'schema')], 'an empty schema_dir list means the shipped schema');
    t.equal(d.flash_storage_root, '/var/lib/cced/flash');
  });

  t.test('every bad value is a ConfigError naming the key and the value', async (t) => {
    const bad: [ConfigInput, RegExp][] = [
      [{ enable_http: 'maybe' }, /^config: enable_http: expected true or false \(got "maybe"\)$/],
      [{ logging: '' }, /^config: logging: expected true or false/],
      [{ token_lifetime: 'abc' }, /^config: token_lifetime: expected a whole number \(got "abc"\)$/],
      [{ token_lifetime: '-5' }, /^config: token_lifetime: expected a whole number/],
      [{ token_lifetime: '1.5' }, /^config: token_lifetime: expected a whole number/],
      [{ token_lifetime: '0' }, /^config: token_lifetime: .*\(got "0"\)$/],
      [{ api_auth_fails: '0' }, /^config: api_auth_fails: /],
      [{ max_body_bytes: '63' }, /^config: max_body_bytes: /],
      [{ heartbeat_flush_ms: '1001' }, /^config: heartbeat_flush_ms: .*\(got "1001"\)$/],
      [{ max_queue: '99999999999999999999' }, /^config: max_queue: /],
      [{ db_synchronous: 'OFF' }, /^config: db_synchronous: /],
      [{ state_dir: '  ' }, /^config: state_dir: /],
      [{ listen_address: '9092' }, /^config: listen_address: expected host:port, e\.g\. 127\.0\.0\.1:9092 or \[::1\]:9092 \(got "9092"\)$/],
      [{ listen_address: '127.0.0.1:65536' }, /^config: listen_address: .*\(got "127.0.0.1:65536"\)$/],
      [{ listen_address: '127.0.0.1:99999' }, /^config: listen_address: /],
      [{ listen_address: '::1:9092' }, /^config: listen_address: /],
      [{ listen_address: '[::1]' }, /^config: listen_address: /],
      [{ listen_address: '[zz]:9092' }, /^config: listen_address: /],
      [{ listen_address: '127.0.0.1:' }, /^config: listen_address: /],
      [{ listen_address: '127.0.0.1:123456' }, /^config: listen_address: /],
      [{ listen_address: ':9092' }, /^config: listen_address: /],
    ];
    for (const [input, message] of bad) {
      t.match(configError(() => resolveConfig(input)).message, message, JSON.stringify(input));
    }
  });

  t.test('a key outside the schema (only reachable by bypassing the parsers) is still a ConfigError', async (t) => {
    const input = { bogus: 'x' } as unknown as ConfigInput;
    t.match(configError(() => resolveConfig(input)).message, /^config: : .*bogus/);
  });
});

t.test('configFileFrom', async (t) => {
  t.equal(configFileFrom(['--config', '/a.conf'], {}), '/a.conf');
  t.equal(configFileFrom(['serve', '--config=/b.conf'], {}), '/b.conf');
  t.equal(configFileFrom(['--config=/b.conf', '--config', '/a.conf'], {}), '/b.conf', 'the first one wins');
  t.equal(configFileFrom(['--config', '/a.conf'], { CCED_CONFIG: '/env.conf' }), '/a.conf', 'the argument beats CCED_CONFIG');
  t.equal(configFileFrom([], { CCED_CONFIG: '/env.conf' }), '/env.conf');
  t.equal(configFileFrom([], { CCED_CONFIG: '' }), undefined, 'an empty CCED_CONFIG means none');
  t.equal(configFileFrom(['--verbose'], {}), undefined);
  t.equal(configError(() => configFileFrom(['--config'], {})).message, '--config needs a file name');
});

t.test('loadConfig', async (t) => {
  t.test('reads the file named by --config, and CCED_* variables override it', async (t) => {
    const dir = t.testdir({
      'cced.conf': 'listen_address = 0.0.0.0:9443\ntoken_lifetime = 600\nstate_dir = /var/lib/cced\n',
    });
    const file = path.join(dir, 'cced.conf');
    const fromFile = loadConfig({ argv: ['--config', file], env: {} });
    t.same(fromFile.listen_address, { host: '0.0.0.0', port: 9443 });
    t.equal(fromFile.token_lifetime, 600);
    t.equal(fromFile.db_path, '/var/lib/cced/cced.db');

    const layered = loadConfig({ argv: [`--config=${file}`], env: { CCED_TOKEN_LIFETIME: '30', CCED_ADMIN_PASSWORD: 'x' } });
    t.equal(layered.token_lifetime, 30, 'the environment wins');
    t.equal(layered.listen_address.port, 9443, 'the file still applies to other keys');

    const viaEnv = loadConfig({ argv: [], env: { CCED_CONFIG: file } });
    t.equal(viaEnv.token_lifetime, 600, 'CCED_CONFIG names the file');
  });

  t.test('no file: the defaults, with environment overrides', async (t) => {
    t.equal(loadConfig({ argv: [], env: {} }).token_lifetime, 300);
    t.equal(loadConfig({ argv: [], env: { CCED_TOKEN_LIFETIME: '7' } }).token_lifetime, 7);
  });

  t.test('errors in the file or the environment surface as ConfigError', async (t) => {
    const dir = t.testdir({ 'bad.conf': 'token_lifetime = soon\n', 'typo.conf': 'token_lifetme = 5\n' });
    t.match(
      configError(() => loadConfig({ argv: ['--config', path.join(dir, 'bad.conf')], env: {} })).message,
      /^config: token_lifetime: /,
    );
    t.match(
      configError(() => loadConfig({ argv: ['--config', path.join(dir, 'typo.conf')], env: {} })).message,
      /typo\.conf:1: unknown key "token_lifetme"/,
    );
    t.match(configError(() => loadConfig({ argv: [], env: { CCED_NOPE: '1' } })).message, /CCED_NOPE/);
  });

  t.test('an unreadable file', async (t) => {
    const dir = t.testdir({ sub: {} });
    const missing = path.join(dir, 'missing.conf');
    t.equal(
      configError(() => loadConfig({ argv: ['--config', missing], env: {} })).message,
      `config: cannot read ${missing}: ENOENT`,
    );
    t.equal(
      configError(() => loadConfig({ argv: ['--config', path.join(dir, 'sub')], env: {} })).message,
      `config: cannot read ${path.join(dir, 'sub')}: EISDIR`,
    );
  });

  t.test('a read error without an errno code still gives a readable message', async (t) => {
    const { loadConfig: mockedLoad } = await t.mockImport<typeof import('../src/config/load.js')>('../src/config/load.js', {
      // The rest of node:fs stays real: every module load.ts imports gets this mock.
      'node:fs': {
        ...fs,
        readFileSync: () => {
          throw new Error('disk on fire');
        },
      },
    });
    t.throws(() => mockedLoad({ argv: ['--config', '/x.conf'], env: {} }), {
      name: 'ConfigError',
      message: 'config: cannot read /x.conf: Error: disk on fire',
    });
  });

  t.test('with no options it reads process.argv and process.env', async (t) => {
    // Keep the test independent of CCED_* variables in the caller's environment.
    const saved = Object.entries(process.env).filter(([k]) => k.startsWith('CCED_'));
    for (const [k] of saved) delete process.env[k];
    t.teardown(() => {
      for (const [k, v] of saved) process.env[k] = v;
    });
    process.env.CCED_DEBUGLOG = 'true';
    t.teardown(() => {
      delete process.env.CCED_DEBUGLOG;
    });
    t.equal(loadConfig().debuglog, true);
  });
});

t.test('etc/cced.conf', async (t) => {
  const file = path.join(repo, 'etc', 'cced.conf');
  const text = readFileSync(file, 'utf8');

  t.test('yields exactly the built-in defaults', async (t) => {
    t.strictSame(loadConfig({ argv: ['--config', file], env: {} }), loadConfig({ argv: [], env: {} }));
  });

  t.test('documents every key, each with a comment', async (t) => {
    for (const key of CONFIG_KEYS) {
      const line = new RegExp(`^(# )?${key} =`, 'm');
      t.match(text, line, `${key} is in the file`);
      // The line just above a key (or its commented example) is its description.
      const lines = text.split('\n');
      const at = lines.findIndex((l) => line.test(l));
      t.match(lines[at - 1], /^# \S/, `${key} has a comment above it`);
    }
  });

  t.test('sets no key twice', async (t) => {
    const keys = text.split('\n').filter((l) => /^\w+ =/.test(l)).map((l) => l.split(' ')[0]);
    t.same(keys, [...new Set(keys)]);
  });
});

t.test('etc/cced.conf.example-remote parses and sets up a public TLS listener', async (t) => {
  const c = loadConfig({ argv: ['--config', path.join(repo, 'etc', 'cced.conf.example-remote')], env: {} });
  t.same(c.listen_address, { host: '0.0.0.0', port: 9092 });
  t.equal(c.cert_file, '/etc/cced/certs/certificate');
  t.equal(c.key_file, '/etc/cced/certs/key');
  t.equal(c.ca_cert_file, '/etc/cced/certs/ca-certs');
  t.ok(c.api_access.length > 0, 'a whitelist is set');
  t.equal(c.state_dir, '/var/lib/cced');
});

t.test('address lists are checked when the configuration loads', async (t) => {
  t.throws(() => resolveConfig({ trusted_proxies: '10.0.0.1, 10.0.0.300' }), { message: /^config: trusted_proxies: bad entry "10\.0\.0\.300"/ });
  t.throws(() => resolveConfig({ local_addresses: '127.0.0.1, localhost' }), { message: /^config: local_addresses: expected IPv4\/IPv6 addresses/ });
  t.same(resolveConfig({ trusted_proxies: '10.0.0.0/8, ::1' }).trusted_proxies, ['10.0.0.0/8', '::1']);
});
