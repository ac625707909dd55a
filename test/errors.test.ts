/**
 * The error table and the command table are documented and tested: every
 * code of src/errors.ts in README.md's "Errors and HTTP statuses" section, and
 * every verb of commands/index.ts in a test file and in the README.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ERROR_CODES } from '../src/errors.js';
import { COMMANDS } from '../commands/index.js';

const readme = readFileSync('README.md', 'utf8');

/** The text of one `## ` section of the README ('' when it is missing). */
function section(title: string): string {
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${title}`);
  if (start < 0) return '';
  const end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return testFiles(p);
    return e.name.endsWith('.test.ts') && e.name !== 'errors.test.ts' ? [p] : [];
  });
}

t.test('every error code is documented with its word and HTTP status', async (t) => {
  const errors = section('Errors and HTTP statuses');
  t.not(errors, '', 'README.md has an "## Errors and HTTP statuses" section');
  const lines = errors.split('\n');
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    const line = lines.find((l) => new RegExp(`(^|\\D)${code}(\\D|$)`).test(l) && l.includes(spec.word));
    t.ok(line, `${code} ${spec.word} is documented`);
    if (line) t.match(line, new RegExp(`(^|\\D)${spec.http}(\\D|$)`), `${code}: HTTP ${spec.http} is documented`);
  }
});

t.test('every command is tested and documented', async (t) => {
  const tests = testFiles('test').map((f) => readFileSync(f, 'utf8')).join('\n');
  for (const { verb } of COMMANDS) {
    t.match(tests, new RegExp(`['"\`]${verb}\\b`), `${verb} is sent by a test`);
    t.match(readme, new RegExp(`\\b${verb}\\b`), `${verb} is in README.md`);
  }
  t.equal(new Set(COMMANDS.map((c) => c.verb)).size, COMMANDS.length, 'no verb twice in the table');
});
