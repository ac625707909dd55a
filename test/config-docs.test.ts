/**
 * docs/configuration.md's "Every key" table against the config schema, in both
 * directions: every key of src/config/schema.ts has one row, every row names a
 * key of the schema, and a default written as code is the value the daemon
 * applies when the key is absent (a default in plain words: the key is unset).
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { configSchema, CONFIG_KEYS } from '../src/config/schema.js';

const page = readFileSync('docs/configuration.md', 'utf8');
const table = page.slice(page.indexOf('\n## Every key'));

/** `| \`key\` | default | meaning |` rows. */
const rows = table
  .split('\n')
  .map((l) => /^\| `([a-z_0-9]+)` \| (.*?) \| (.*) \|$/.exec(l))
  .filter((m): m is RegExpExecArray => m !== null)
  .map((m) => ({ key: m[1]!, default: m[2]!, meaning: m[3]! }));

const defaults = configSchema.parse({}) as Record<string, unknown>;

t.test('the page has the table', async (t) => {
  t.ok(table.length > 20, 'docs/configuration.md has "## Every key"');
  t.ok(rows.length > 0);
});

t.test('every schema key is documented once, and every documented key exists', async (t) => {
  const documented = rows.map((r) => r.key);
  for (const key of CONFIG_KEYS) t.equal(documented.filter((k) => k === key).length, 1, `${key} has one row`);
  for (const key of documented) t.ok((CONFIG_KEYS as string[]).includes(key), `${key} (documented) is in the schema`);
});

t.test('every documented default is the one the schema applies', async (t) => {
  for (const row of rows) {
    t.not(row.meaning.trim(), '', `${row.key} says what it means`);
    const code = /^`([^`]*)`(?: \(.*\))?$/.exec(row.default);
    if (row.default === 'empty') {
      t.strictSame(configSchema.parse({ [row.key]: '' })[row.key as never], defaults[row.key], `${row.key}: empty by default`);
    } else if (code) {
      const parsed = configSchema.parse({ [row.key]: code[1] }) as Record<string, unknown>;
      t.strictSame(parsed[row.key], defaults[row.key], `${row.key}: default ${code[1]}`);
    } else {
      t.equal(defaults[row.key], undefined, `${row.key}: unset by default (${row.default})`);
    }
  }
});
