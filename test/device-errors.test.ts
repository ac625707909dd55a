/**
 * The device domain's error table (src/errors.ts DEVICE_ERRORS) and its page
 * (docs/architecture-devices.md, "## Errors") agree both ways: every code is
 * documented with its HTTP status and the Meeting API's exact reply, and every
 * documented code exists.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { CodedError, DEVICE_ERRORS, DeviceError, PANTAHUB_ERRORS, PantahubError, type DeviceCode } from '../src/errors.js';
import { fromDeviceError } from '../src/facades/meeting/replies.js';

const page = readFileSync('docs/architecture-devices.md', 'utf8');

/** The rows of the page's error table: `| code | HTTP | Meeting REST | when |`. */
function rows(): { code: string; http: string; meeting: string }[] {
  const start = page.indexOf('\n## Errors\n');
  const end = page.indexOf('\n## ', start + 1);
  return page
    .slice(start, end)
    .split('\n')
    .filter((l) => /^\| [a-z-]+\.[a-z-]+ \|/.test(l))
    .map((l) => {
      const [code, http, meeting] = l.split('|').slice(1).map((c) => c.trim());
      return { code: code!, http: http!, meeting: meeting! };
    });
}

t.test('every device error code is documented with its HTTP status and the Meeting reply', async (t) => {
  const documented = rows();
  t.ok(documented.length > 0, 'the page has an error table');
  for (const [code, spec] of Object.entries(DEVICE_ERRORS)) {
    const row = documented.find((r) => r.code === code);
    if (!t.ok(row, `${code} is documented`) || !row) continue;
    t.equal(row.http, String(spec.http), `${code}: HTTP ${spec.http}`);
    const meeting = fromDeviceError(new DeviceError(code as DeviceCode));
    t.equal(row.meeting, `${meeting.status} \`${String(meeting.body.error)}\``, `${code}: the Meeting reply`);
    t.strictSame(Object.keys(meeting.body), ['error'], `${code}: the document's {"error": ...} shape`);
    t.equal(meeting.status >= 500, spec.http >= 500, `${code}: a 5xx only where the table says so`);
  }
});

t.test('every documented device error code is in the table, once', async (t) => {
  const codes = rows().map((r) => r.code);
  for (const code of codes) t.ok(code in DEVICE_ERRORS, `${code} (docs) is in src/errors.ts`);
  t.equal(new Set(codes).size, codes.length, 'no code twice');
});

t.test('a device error names its code', async (t) => {
  const err = new DeviceError('device.unknown');
  t.equal(err.name, 'DeviceError');
  t.equal(err.code, 'device.unknown');
  t.equal(err.message, 'device.unknown: no device has this device_key');
});

t.test('one coded-error base over each table: DeviceError and PantahubError', async (t) => {
  const cases = [
    { err: new DeviceError('tunnel.no-free-port'), name: 'DeviceError', spec: DEVICE_ERRORS['tunnel.no-free-port'] },
    { err: new PantahubError('pantahub.bad-login'), name: 'PantahubError', spec: PANTAHUB_ERRORS['pantahub.bad-login'] },
  ];
  for (const { err, name, spec } of cases) {
    t.ok(err instanceof CodedError && err instanceof Error, `${name} is a CodedError`);
    t.strictSame({ name: err.name, http: err.http, message: err.message }, { name, http: spec.http, message: `${err.code}: ${spec.meaning}` }, `${name}: its table's status and meaning`);
  }
  t.notOk(cases[0]!.err instanceof PantahubError, 'the classes stay apart');
  t.notOk(cases[1]!.err instanceof DeviceError);
});
