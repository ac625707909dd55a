import t from 'tap';
import { unsafeRegexReason } from '../src/store/safe-regex.js';
import { startDaemon, adminClient } from './helpers/daemon.js';

t.test('patterns that can backtrack without end are refused', async (t) => {
  for (const p of ['(a+)+$', '(\\w*)*x', '(x{2,})+', '((ab)*c)*', '(a|b+)*', '(.*a){3}', '(a)\\1', '(?<n>a)\\k<n>', '((a+))+']) {
    t.not(unsafeRegexReason(p), null, p);
  }
  for (const p of ['^a+$', '^t1\\.smd\\.net$', '(foo|bar)+', '[(a+)]+', '(ab)+c*', '\\(a+\\)+', 'a{2}', '(a{1,1})+', '(a?)+', '^(admin|carol)$', '(a)(b+)', '[\\]a+]+']) {
    t.equal(unsafeRegexReason(p), null, p);
  }
});

t.test('FIND answers 403 for such a pattern, at once', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const c = await adminClient(d);
  const r = await c.cmd('FIND User name ~ "(a+)+$"');
  t.equal(r.status, 400);
  t.same(r.body.data.errors[0], { code: 403, message: 'BAD PARAMETERS regex refused: nested quantifiers can backtrack without end' });
  const x = await c.cmd({ cmd: 'FINDX', class: 'User', regex_args: { name: '^(admin|api-admin)$' } });
  t.same(x.body.data.oidlist, ['2', '3']);
});
