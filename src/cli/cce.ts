/**
 * `cce`: the command-line client of POST /v2/cce for shell scripts and cron.
 *
 *   cce PING
 *   CCE_PASSWORD=... cce GET 1 . Snmp          # AUTH, the command, ENDKEY
 *   export CCE_SESSION=$(CCE_PASSWORD=... cce login); cce GET 1
 *   cce --fields '{"class":"User","args":{"name":"bob"}}' FINDX
 *   cce watch --class Device --since 120       # one JSON line per change (src/cli/watch.ts)
 *
 * Prints the reply as JSON; exits 0 when the command succeeded, 1 when it
 * failed, 2 when the daemon could not be reached or the input was bad.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { watch } from './watch.js';

export interface ClientOptions {
  url: string;
  user: string;
  password?: string;
  session?: string;
  token?: string;
  secret?: string;
  ca?: string;
}

interface Reply {
  status: number;
  message: string;
  data?: Record<string, unknown>;
}

export function post(opts: ClientOptions, body: Record<string, unknown>): Promise<{ http: number; reply: Reply | string }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = postJson(
      new URL('/v2/cce', opts.url),
      opts,
      payload,
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let reply: Reply | string = text;
          try {
            reply = JSON.parse(text) as Reply;
          } catch {
            // transport refusals may be plain text
          }
          resolve({ http: res.statusCode ?? 0, reply });
        });
      },
    );
    req.on('error', reject);
  });
}

/** Sends `payload` as a JSON POST (with X-Client-Secret and the --ca certificate when given); the caller handles the response. */
export function postJson(url: URL, opts: Pick<ClientOptions, 'secret' | 'ca'>, payload: string, onResponse: (res: IncomingMessage) => void): ClientRequest {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = send(
    url,
    {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
        ...(opts.secret ? { 'x-client-secret': opts.secret } : {}),
      },
      ...(opts.ca ? { ca: readFileSync(opts.ca) } : {}),
    },
    onResponse,
  );
  req.end(payload);
  return req;
}

function credentials(o: ClientOptions): Record<string, unknown> {
  if (o.token) return { token: o.token };
  if (o.session) return { user: o.user, sessionid: o.session };
  return {};
}

async function login(o: ClientOptions): Promise<string> {
  if (o.password === undefined) throw new Error('no credentials: set CCE_PASSWORD (or --password-file), CCE_SESSION or CCE_TOKEN');
  const { reply } = await post(o, { cmd: 'AUTH', user: o.user, password: o.password });
  const sid = typeof reply === 'object' ? reply.data?.sessionid : undefined;
  if (typeof sid !== 'string') throw new Error(`AUTH failed: ${JSON.stringify(reply)}`);
  return sid;
}

/** Runs one command line; returns the exit code. */
export async function run(argv: string[], env: NodeJS.ProcessEnv, out: (s: string) => void, err: (s: string) => void, signal?: AbortSignal): Promise<number> {
  const program = new Command('cce')
    .description('send a command to cced (POST /v2/cce) and print the reply')
    .option('--url <url>', 'daemon address', env.CCE_URL ?? 'http://127.0.0.1:9092')
    .option('--user <name>', 'user name', env.CCE_USER ?? 'admin')
    .option('--password-file <file>', 'read the password from a file (else CCE_PASSWORD)')
    .option('--session <id>', 'session id (else CCE_SESSION)')
    .option('--token <token>', 'LOGIN token (else CCE_TOKEN)')
    .option('--secret <secret>', 'X-Client-Secret for LOGIN and tokens (else CCE_CLIENT_SECRET)')
    .option('--ca <file>', 'CA certificate to trust for https')
    .option('--fields <json>', 'extra envelope fields as a JSON object (class, args, oids, ...)')
    .option('--format <format>', '"json" for typed values')
    .option('--class <class>', 'watch: only changes of this class')
    .option('--oid <oid>', 'watch: only changes of this object')
    .option('--namespace <ns>', 'watch: only changes of this namespace')
    .option('--since <id>', 'watch: start after this change id (default: from now)')
    .option('--count <n>', 'watch: stop after this many changes')
    .argument('<command...>', 'the command line, e.g. GET 1 . Snmp; "login" prints a session id; "watch" prints changes as they come')
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: err });
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    return (e as { exitCode?: number }).exitCode === 0 ? 0 : 2;
  }
  const flags = program.opts<{
    url: string; user: string; passwordFile?: string; session?: string; token?: string; secret?: string; ca?: string; fields?: string; format?: string;
    class?: string; oid?: string; namespace?: string; since?: string; count?: string;
  }>();
  const opts: ClientOptions = {
    url: flags.url,
    user: flags.user,
    password: flags.passwordFile ? readFileSync(flags.passwordFile, 'utf8').trim() : env.CCE_PASSWORD,
    session: flags.session ?? env.CCE_SESSION,
    token: flags.token ?? env.CCE_TOKEN,
    secret: flags.secret ?? env.CCE_CLIENT_SECRET,
    ca: flags.ca,
  };
  const line = program.args.join(' ');
  try {
    let fields: Record<string, unknown> = {};
    if (flags.fields) {
      const parsed: unknown = JSON.parse(flags.fields);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('--fields must be a JSON object');
      fields = parsed as Record<string, unknown>;
    }
    if (line.toLowerCase() === 'login') {
      out((await login(opts)) + '\n');
      return 0;
    }
    const needsLogin = !opts.token && !opts.session && opts.password !== undefined;
    if (needsLogin) opts.session = await login(opts);
    try {
      if (line.toLowerCase() === 'watch') {
        const count = flags.count === undefined ? undefined : Number(flags.count);
        if (count !== undefined && !(Number.isInteger(count) && count > 0)) throw new Error('--count must be a positive whole number');
        const filter = { class: flags.class, oid: flags.oid, namespace: flags.namespace };
        return await watch({ url: opts.url, credentials: credentials(opts), secret: opts.secret, ca: opts.ca, filter, since: flags.since, count, signal }, out, err);
      }
      const { http, reply } = await post(opts, { cmd: line, ...fields, ...credentials(opts), ...(flags.format ? { format: flags.format } : {}) });
      out((typeof reply === 'string' ? reply : JSON.stringify(reply, null, 2)) + '\n');
      return http >= 200 && http < 300 ? 0 : 1;
    } finally {
      if (needsLogin) await post(opts, { cmd: 'ENDKEY', ...credentials(opts) });
    }
  } catch (e) {
    err(`cce: ${(e as Error).message}\n`);
    return 2;
  }
}

