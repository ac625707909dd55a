/**
 * A local OIDC identity provider for the tests: an HTTP server on 127.0.0.1
 * serving a discovery document and a JWKS of keys generated here with jose,
 * and signing tokens with them. It can rotate its key (a new kid) and go down
 * (connections reset) and come back.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose';

interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newKey(kid: string, alg: SigningKey['alg']): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export interface Idp {
  /** The issuer URL (also what the discovery document names). */
  readonly issuer: string;
  /** The current RS256 signing key. */
  key: SigningKey;
  /** Every key the JWKS serves. */
  published: SigningKey[];
  /** Requests the server answered, by path. */
  hits: Map<string, number>;
  /** While down, every connection is reset. */
  down: boolean;
  /** A token with these claims (merged over a valid default set) signed by `key` (or another). */
  sign(claims?: JWTPayload, opts?: { key?: SigningKey; header?: Record<string, unknown> }): Promise<string>;
  /** A new RS256 key with a new kid, published and used from now on. */
  rotate(): Promise<SigningKey>;
  /** A key not published (signs tokens whose signature does not verify). */
  stranger(kid?: string): Promise<SigningKey>;
  close(): Promise<void>;
}

export const AUDIENCE = 'cced-test';

export async function startIdp(opts: { issuerPath?: string } = {}): Promise<Idp> {
  const hits = new Map<string, number>();
  let generation = 1;
  const first = await newKey('k1', 'RS256');
  const ec = await newKey('ec1', 'ES256');
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (idp.down) return req.socket.destroy();
    const send = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (path === `${issuerPath}/.well-known/openid-configuration`) return send({ issuer: idp.issuer, jwks_uri: `${base}/jwks`, id_token_signing_alg_values_supported: ['RS256', 'ES256'] });
    if (path === '/jwks') return send({ keys: idp.published.map((k) => k.publicJwk) });
    res.writeHead(404).end();
  });
  const issuerPath = opts.issuerPath ?? '/realms/test';
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const idp: Idp = {
    issuer: `${base}${issuerPath}`,
    key: first,
    published: [first, ec],
    hits,
    down: false,
    async sign(claims = {}, o = {}) {
      const key = o.key ?? idp.key;
      const now = Math.floor(Date.now() / 1000);
      const payload: JWTPayload = { iss: idp.issuer, aud: AUDIENCE, sub: 'subject-1', iat: now, exp: now + 300, ...claims };
      for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
      return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...o.header }).sign(key.privateKey);
    },
    async rotate() {
      idp.key = await newKey(`k${++generation}`, 'RS256');
      idp.published = [idp.key, ec];
      return idp.key;
    },
    stranger: (kid = idp.key.kid) => newKey(kid, 'RS256'),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return idp;
}

/** The EC key the provider publishes beside its RSA one. */
export function ecKey(idp: Idp): SigningKey {
  return idp.published.find((k) => k.alg === 'ES256')!;
}
