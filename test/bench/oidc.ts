/**
 * OIDC bearer tokens: GET 1 on /v2/cce with `Authorization: Bearer <JWT>` of
 * a local identity provider (the key set fetched once, the token verified at
 * its first use and remembered until its exp), and the same GET with a local
 * session, on the same daemon in the same run; their ratio is printed.
 */
import { startIdp, AUDIENCE } from '../helpers/idp.js';
import { expectStatus, type BenchSection } from './lib.js';

export const oidc: BenchSection = {
  name: 'oidc',
  async run(ctx) {
    const idp = await startIdp();
    const d = await ctx.startDaemon({ config: { oidc_issuer: idp.issuer, oidc_audience: AUDIENCE } });
    try {
      const token = await idp.sign({ preferred_username: 'admin', exp: Math.floor(Date.now() / 1000) + 3600 });
      const headers = { authorization: `Bearer ${token}` };
      const get = { cmd: 'GET 1' };
      await expectStatus(d, get, 201, headers);
      const withToken = await ctx.measure(d, get, { headers });
      ctx.report('GET 1 (OIDC bearer, keys cached)', withToken, undefined, 'System object, a JWT of a local identity provider');
      const s = await d.adminSession();
      const withSession = await ctx.measure(d, { ...get, user: s.user, sessionid: s.sessionid });
      ctx.report('GET 1 (session, same daemon)', withSession, undefined, 'for the ratio');
      ctx.note(`GET 1 with an OIDC bearer token / with a session: ${(withToken.rps / withSession.rps).toFixed(2)} (${withToken.rps.toFixed(0)} / ${withSession.rps.toFixed(0)} req/s)`);
    } finally {
      await d.close();
      await idp.close();
    }
  },
};
