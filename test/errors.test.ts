/**
 * The error table and the command table are documented and tested: every
 * code of src/errors.ts in docs/errors.md's "Errors and HTTP statuses" table with
 * its HTTP status and the Meeting API's reply (and every code of that table in
 * src/errors.ts), and every verb of commands/index.ts in a test file and in
 * docs/protocol.md.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CceError, ERROR_CODES, type CceCode } from '../src/errors.js';
import { MEETING_ERRORS } from '../src/facades/meeting/replies.js';
import { COMMANDS } from '../commands/index.js';
import { adminClient, onPostgres, startDaemon } from './helpers/daemon.js';
import { failure } from './helpers/replies.js';
import { adminRest, newDevice, seedCatalog } from './helpers/meeting.js';
import Database from 'better-sqlite3';

/** docs/errors.md: the page is the error table's one section. */
const errorsPage = readFileSync('docs/errors.md', 'utf8');
/** docs/protocol.md documents every verb. */
const protocolPage = readFileSync('docs/protocol.md', 'utf8');

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return testFiles(p);
    return e.name.endsWith('.test.ts') && e.name !== 'errors.test.ts' ? [p] : [];
  });
}

/** The rows of docs/errors.md's table: `| code | message | HTTP | Meeting REST | when |`. */
function errorRows(): { code: string; message: string; http: string; meeting: string }[] {
  if (!errorsPage.startsWith('# Errors and HTTP statuses\n')) return [];
  return errorsPage
    .split('\n')
    .filter((l) => /^\| \d{3} \|/.test(l))
    .map((l) => {
      const [code, message, http, meeting] = l.split('|').slice(1).map((c) => c.trim());
      return { code: code!, message: message!, http: http!, meeting: meeting! };
    });
}

/** The Meeting API's reply to a bare error of this code. */
const meetingReply = (code: string) => MEETING_ERRORS[Number(code) as CceCode](new CceError(Number(code) as CceCode));

t.test('every error code is documented with its word, HTTP status and Meeting reply', async (t) => {
  const rows = errorRows();
  t.ok(rows.length > 0, 'docs/errors.md is the "Errors and HTTP statuses" table');
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    const row = rows.find((r) => r.code === code);
    t.ok(row, `${code} ${spec.word} is documented`);
    if (!row) continue;
    t.ok(row.message.startsWith(spec.word), `${code}: the message starts with ${spec.word}`);
    t.equal(row.http, String(spec.http), `${code}: HTTP ${spec.http} is documented`);
    const meeting = meetingReply(code);
    t.match(row.meeting, new RegExp(`^${meeting.status}\\b`), `${code}: the Meeting API's ${meeting.status} is documented`);
  }
});

t.test('every documented error code is in the table, once', async (t) => {
  const codes = errorRows().map((r) => r.code);
  for (const code of codes) t.ok(code in ERROR_CODES, `${code} (docs/errors.md) is in src/errors.ts`);
  t.equal(new Set(codes).size, codes.length, 'no code twice in docs/errors.md');
});

t.test('a 5xx only where the table says the daemon, not the client, is at fault', async (t) => {
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    const meeting = meetingReply(code);
    t.equal(meeting.status >= 500, spec.http >= 500, `${code}: /v2/cce ${spec.http}, Meeting ${meeting.status}`);
  }
  t.strictSame(
    Object.keys(ERROR_CODES).filter((c) => ERROR_CODES[Number(c) as CceCode].http >= 500),
    ['309', '500'],
    'only SUSPENDED and STORAGE FAILURE answer a 5xx',
  );
});

t.test('a commit the disk refuses is a storage failure (HTTP 503) at every door, never a parse error', { skip: onPostgres && 'fakes SQLite\'s failing COMMIT (SQLITE_FULL) inside the SQLite writer' }, async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  await seedCatalog(d);
  const admin = await adminClient(d);
  const rest = await adminRest(d);
  const { key } = await newDevice(rest);
  // The disk fails at COMMIT (as with ENOSPC or EIO); SQLite rolls the transaction back.
  const writer = (d.app.services.writer as unknown as { tx: { commit(): void } }).tx;
  const real = writer.commit;
  const diskFull = () => { throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }); };
  writer.commit = diskFull;
  t.teardown(() => { writer.commit = real; });

  const storage = failure([500, 'STORAGE FAILURE the store could not commit']);
  const set = await admin.cmd('SET 1 hostname="disk-full"');
  t.equal(set.status, 503, '/v2/cce: HTTP 503');
  t.strictSame(set.body, storage);
  t.strictSame((await admin.cmd('BEGIN')).body, { status: 201, message: 'BEGIN OK' });
  t.strictSame((await admin.cmd('CREATE User name="queued1"')).body, { status: 100, message: 'QUEUED' });
  const commit = await admin.cmd('COMMIT');
  t.equal(commit.status, 503, 'a COMMIT of a BEGIN queue: HTTP 503');
  t.strictSame(commit.body, storage);
  const note = await rest.put(`/api/devices/${key}/note`, { note: 'disk full' });
  t.equal(note.status, 503, 'the Meeting API: HTTP 503');
  t.strictSame(note.body, { error: 'Storage failure' });
  t.ok(d.logs.some((l) => l.includes('"commit failed"') && l.includes('database or disk is full')), 'the cause is in the log');

  writer.commit = real;
  t.not((await admin.cmd('GET 1')).body.data.DATA.hostname, 'disk-full', 'nothing of the failed SET is there');
  t.equal((await admin.cmd('FIND User name = "queued1"')).body.data, undefined, 'nor of the COMMIT');
  t.equal((await rest.get(`/api/devices/${key}/note`)).body.note, '', 'nor of the PUT');
  t.equal((await admin.cmd('SET 1 hostname="disk-ok"')).status, 200, 'the next write, once the disk is back, lands');
});

t.test('a database another process keeps locked is a storage failure too, and writes resume when it lets go', { skip: onPostgres && 'SQLite\'s whole-file write lock: PostgreSQL has none' }, async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  // Another process (a console command, a backup tool) holds the write lock past busy_timeout (5 s).
  const other = new Database(d.config.db_path);
  t.teardown(() => other.close());
  other.exec('BEGIN IMMEDIATE');
  const locked = await admin.cmd('SET 1 hostname="locked"');
  t.equal(locked.status, 503);
  t.strictSame(locked.body, failure([500, 'STORAGE FAILURE the store could not begin a transaction']));
  t.ok(d.logs.some((l) => l.includes('"commit failed"') && l.includes('database is locked')), 'the cause is in the log');
  other.exec('ROLLBACK');
  t.equal((await admin.cmd('SET 1 hostname="unlocked"')).status, 200);
  t.equal((await admin.cmd('GET 1')).body.data.DATA.hostname, 'unlocked');
});

t.test('every command is tested and documented', async (t) => {
  const tests = testFiles('test').map((f) => readFileSync(f, 'utf8')).join('\n');
  for (const { verb } of COMMANDS) {
    t.match(tests, new RegExp(`['"\`]${verb}\\b`), `${verb} is sent by a test`);
    t.match(protocolPage, new RegExp(`\\b${verb}\\b`), `${verb} is in docs/protocol.md`);
  }
  t.equal(new Set(COMMANDS.map((c) => c.verb)).size, COMMANDS.length, 'no verb twice in the table');
});
