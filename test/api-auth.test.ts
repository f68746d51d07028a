import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { callerOf, createVerifier, requireScope, type AuthVerifier } from '../api/auth';
import { ApiError } from '../api/schemas';
import { buildApi } from '../api/server';
import { SCOPES } from '../domain/auth';
import type { Config } from '../domain/config';
import { authKeyPaths, localIssuerKeys, mintToken, type AuthKeys } from '../lib/auth-keys';
import { watchReadSource, type ReadSourceReader } from '../store/read-source';
import { fixtureDatabase, type Fixture } from './api-fixtures';
import { testConfig } from './support/db';

/**
 * The bearer-token matrix against the real API (a test route behind requireScope, as the write routes are), the
 * JWKS path through a local HTTP issuer, and proof that no token reaches the logs.
 */

const loadJose = () => import('jose');
let jose: Awaited<ReturnType<typeof loadJose>>;

const PATH = '/test/protected';
const now = () => Math.floor(Date.now() / 1000);
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** the API as built for serving, plus the test route a write route stands for */
async function apiWith(fx: Fixture, readSource: ReadSourceReader, auth: AuthVerifier | undefined, logLevel?: string) {
  const app = await buildApi({ dbs: fx.dbs, readSource, auth, logLevel: logLevel ?? false, readLatency: false });
  app.post(PATH, { preHandler: requireScope(auth, SCOPES.refresh) }, async (req) => {
    // what a careless route might log: the redaction must hold
    req.log.info({ headers: req.headers }, 'test route headers');
    return { caller: callerOf(req) };
  });
  await app.ready();
  return app;
}

const post = (app: FastifyInstance, authorization?: string) =>
  app.inject({ method: 'POST', url: PATH, headers: authorization === undefined ? {} : { authorization } });

function expect401(res: LightMyRequestResponse, message: RegExp, withError = true) {
  expect(res.statusCode, res.body).toBe(401);
  expect(ApiError.parse(res.json())).toEqual({ error: 'unauthorized', message: expect.stringMatching(message) });
  expect(res.headers['www-authenticate']).toBe(
    withError ? 'Bearer realm="member-api", error="invalid_token"' : 'Bearer realm="member-api"',
  );
}

describe('bearer-token auth on the write routes', () => {
  let fx: Fixture;
  let reader: ReadSourceReader;
  let app: FastifyInstance;
  let dataDir: string;
  let config: Config;
  let keys: AuthKeys;
  let other: AuthKeys;
  const logs: string[] = [];
  const tokensSent: string[] = [];

  /** an RS256 token from the local issuer's key (or another), claims overridable */
  const sign = async (claims: Record<string, unknown> = {}, opts: { key?: AuthKeys; kid?: string } = {}) => {
    const key = opts.key ?? keys;
    const t = now();
    const base = { iss: config.auth.issuer, aud: config.auth.audience, azp: 'autopilot', sub: 'autopilot@clients', scope: SCOPES.refresh };
    const token = await new jose.SignJWT({ iat: t, exp: t + 600, ...base, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: opts.kid ?? key.kid, typ: 'JWT' })
      .sign(key.privateKey);
    tokensSent.push(token);
    return token;
  };
  const bearer = async (claims?: Record<string, unknown>, opts?: { key?: AuthKeys; kid?: string }) => `Bearer ${await sign(claims, opts)}`;

  beforeAll(async () => {
    jose = await loadJose();
    // every log line the API writes, for the last test (pino writes to process.stderr)
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
      logs.push(String(chunk));
      return true;
    });
    dataDir = mkdtempSync(join(tmpdir(), 'cutover-auth-'));
    fx = await fixtureDatabase('api_auth');
    config = testConfig(fx.url, { CUTOVER_DATA_DIR: dataDir });
    reader = await watchReadSource(fx.dbs.members);
    const verifier = await createVerifier(config.auth, { dataDir });
    keys = await localIssuerKeys(dataDir);
    other = await localIssuerKeys(mkdtempSync(join(tmpdir(), 'cutover-auth-other-')));
    app = await apiWith(fx, reader, verifier, 'trace');
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await app?.close();
    reader?.close();
    await fx?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('the verifier made the local key pair: private JWK 0600, public JWKS beside it', async () => {
    const { statSync, readFileSync } = await import('node:fs');
    const paths = authKeyPaths(dataDir);
    expect(statSync(paths.privateJwk).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(paths.publicJwks, 'utf8'))).toEqual(keys.jwks);
    expect(Object.keys(keys.jwks.keys[0]!).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
  });

  it('no Authorization header → 401 with a bare challenge (no error code: RFC 6750 §3.1)', async () => {
    expect401(await post(app), /bearer token is required/, false);
  });

  it.each([
    ['another scheme', 'Basic YXV0b3BpbG90OnNlY3JldA==', /Bearer scheme/],
    ['Bearer and nothing', 'Bearer', /not a well-formed JWT/],
    ['two credentials', 'Bearer a.b.c d.e.f', /not a well-formed JWT/],
    ['characters outside a token', 'Bearer abc$%^.def.ghi', /not a well-formed JWT/],
    ['garbage', 'Bearer garbage', /not a well-formed JWT/],
    ['three garbage segments', 'Bearer aaa.bbb.ccc', /not a well-formed JWT/],
  ])('%s → 401 invalid_token', async (_what, header, message) => {
    expect401(await post(app, header), message);
  });

  it.each<[string, () => Promise<string>, RegExp]>([
    ['expired', () => bearer({ iat: now() - 7200, exp: now() - 3600 }), /expired/],
    ['expired beyond the clock tolerance', () => bearer({ exp: now() - 60 }), /expired/],
    ['not yet valid', () => bearer({ nbf: now() + 300 }), /not valid yet/],
    ['without an expiry', () => bearer({ exp: undefined }), /no valid expiry/],
    ['from another issuer', () => bearer({ iss: 'https://evil.example.com/' }), /issuer/],
    ['without an issuer', () => bearer({ iss: undefined }), /issuer/],
    ['for another audience', () => bearer({ aud: 'some-other-api' }), /audience/],
    ['signed by another key pair under our kid', () => bearer({}, { key: other, kid: keys.kid }), /signature does not verify/],
    ['signed by another key pair (unknown kid)', () => bearer({}, { key: other }), /key the issuer does not publish/],
    ['with an unknown kid', () => bearer({}, { kid: 'no-such-key' }), /key the issuer does not publish/],
    [
      'alg none (unsigned)',
      async () => {
        const t = now();
        const claims = { iss: config.auth.issuer, aud: config.auth.audience, scope: SCOPES.refresh, iat: t, exp: t + 600 };
        const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
        tokensSent.push(token);
        return `Bearer ${token}`;
      },
      /not signed with RS256/,
    ],
    [
      'HS256 with the public key as the secret',
      async () => {
        const t = now();
        // the classic key-confusion attack: the issuer's public key (PEM, as published) used as an HMAC secret
        const pem = await jose.exportSPKI((await jose.importJWK(keys.jwks.keys[0]!, 'RS256')) as Parameters<typeof jose.exportSPKI>[0]);
        const secret = new TextEncoder().encode(pem);
        const token = await new jose.SignJWT({
          iss: config.auth.issuer,
          aud: config.auth.audience,
          scope: SCOPES.refresh,
          iat: t,
          exp: t + 600,
        })
          .setProtectedHeader({ alg: 'HS256', kid: keys.kid })
          .sign(secret);
        tokensSent.push(token);
        return `Bearer ${token}`;
      },
      /RS256/,
    ],
    [
      'a valid token with its payload swapped',
      async () => {
        const [h, , s] = (await sign()).split('.');
        const token = `${h}.${b64({ iss: config.auth.issuer, aud: config.auth.audience, scope: SCOPES.refresh, exp: now() + 9999 })}.${s}`;
        tokensSent.push(token);
        return `Bearer ${token}`;
      },
      /signature does not verify/,
    ],
  ])('a token %s → 401 invalid_token, nothing of it echoed', async (_what, make, message) => {
    const header = await make();
    const res = await post(app, header);
    expect401(res, message);
    for (const part of header
      .slice(7)
      .split('.')
      .filter((p) => p.length > 8))
      expect(res.body).not.toContain(part);
  });

  it('a valid token without the scope → 403 naming the scope, with an insufficient_scope challenge', async () => {
    const res = await post(app, await bearer({ scope: SCOPES.rerate }));
    expect(res.statusCode).toBe(403);
    expect(ApiError.parse(res.json())).toEqual({ error: 'forbidden', message: expect.stringContaining('refresh:member_stats') });
    expect(res.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="refresh:member_stats"');
    // a role that is not an admin role grants nothing
    expect((await post(app, await bearer({ scope: undefined, roles: ['Topcoder User'] }))).statusCode).toBe(403);
  });

  it('a valid token with the scope → 200, request.caller names the client', async () => {
    const res = await post(app, await bearer());
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ caller: { clientId: 'autopilot', scopes: ['refresh:member_stats'], admin: false } });
    // the scheme is case-insensitive; the scope may sit among others; a few seconds of clock skew are tolerated
    const skewed = await post(app, `bearer ${await sign({ scope: 'read:x refresh:member_stats', exp: now() - 5 })}`);
    expect(skewed.statusCode, skewed.body).toBe(200);
  });

  it('takes the scopes from an scp array, and the client from client_id without azp', async () => {
    const res = await post(
      app,
      await bearer({ scope: undefined, azp: undefined, client_id: 'okta-client', scp: ['rerate:member_stats', 'refresh:member_stats'] }),
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().caller).toEqual({ clientId: 'okta-client', scopes: ['rerate:member_stats', 'refresh:member_stats'], admin: false });
  });

  it('an admin role without the scope passes', async () => {
    const res = await post(
      app,
      await bearer({ scope: undefined, azp: undefined, sub: 'auth0|42', roles: ['Topcoder User', 'administrator'] }),
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().caller).toEqual({ clientId: 'auth0|42', scopes: [], admin: true });
  });

  it('a token minted by the local issuer (what `cutover token` prints) passes; reads stay public', async () => {
    const token = await mintToken(keys, {
      scopes: [SCOPES.refresh],
      clientId: 'cli',
      issuer: config.auth.issuer,
      audience: config.auth.audience,
    });
    tokensSent.push(token);
    const res = await post(app, `Bearer ${token}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().caller).toEqual({ clientId: 'cli', scopes: ['refresh:member_stats'], admin: false });
    const health = await app.inject({ method: 'GET', url: '/members/health' });
    expect(health.statusCode).toBe(200);
    await expect(mintToken(keys, { scopes: ['two words'], clientId: 'x', issuer: 'i', audience: 'a' })).rejects.toThrow(/scope/);
    await expect(mintToken(keys, { scopes: [], clientId: 'x', issuer: 'i', audience: 'a', ttlSeconds: 86_401 })).rejects.toThrow(
      /at most 86400/,
    );
  });

  it('without a verifier the route refuses every request (503), never runs unauthenticated', async () => {
    const bare = await apiWith(fx, reader, undefined);
    try {
      const res = await bare.inject({ method: 'POST', url: PATH, headers: { authorization: await bearer() } });
      expect(res.statusCode).toBe(503);
      expect(ApiError.parse(res.json())).toEqual({ error: 'unavailable', message: expect.stringMatching(/not configured/) });
    } finally {
      await bare.close();
    }
  });

  // last: it reads what every test above logged
  it('no token, nor any part of one, appears in the logs; a logged Authorization header is censored', () => {
    const text = logs.join('');
    expect(text).toMatch(/bearer token refused/); // the capture works
    expect(text).toMatch(/"reason":"the token has expired"/);
    expect(text).toMatch(/test route headers/);
    expect(text).not.toMatch(/"authorization":"Bearer/i);
    expect(text).toMatch(/"authorization":"\[Redacted\]"/);
    expect(tokensSent.length).toBeGreaterThan(15);
    for (const token of tokensSent) {
      for (const part of token.split('.').filter((p) => p.length > 8)) expect(text).not.toContain(part);
    }
    for (const raw of ['YXV0b3BpbG90OnNlY3JldA==', 'abc$%^.def.ghi']) expect(text).not.toContain(raw);
  });
});

describe('bearer tokens verified through a remote JWKS (createRemoteJWKSet)', () => {
  let fx: Fixture;
  let reader: ReadSourceReader;
  let issuerKeys: AuthKeys;
  let jwks: { server: Server; url: string; hits: number; mode: 'ok' | 'error' | 'hang' };
  const ISSUER = 'https://issuer.test/';
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'cutover-jwks-'));
    dirs.push(d);
    return d;
  };

  const listen = (server: Server) =>
    new Promise<string>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
    );

  /** a verifier and an API for AUTH_JWKS_URL=url, its local data directory untouched */
  async function remoteApi(url: string, timeoutMs = 2_000) {
    const dataDir = tempDir();
    const cfg = testConfig(fx.url, { AUTH_JWKS_URL: url, AUTH_ISSUER: ISSUER, CUTOVER_DATA_DIR: dataDir });
    const verifier = await createVerifier(cfg.auth, { dataDir, jwksTimeoutMs: timeoutMs });
    expect(verifier.mode).toBe('jwks');
    const { existsSync } = await import('node:fs');
    expect(existsSync(authKeyPaths(dataDir).dir)).toBe(false); // no local key pair with a real issuer
    return apiWith(fx, reader, verifier);
  }
  const token = (claims: Record<string, unknown> = {}, key: AuthKeys = issuerKeys, kid = key.kid) => {
    const t = now();
    return new jose.SignJWT({
      iss: ISSUER,
      aud: 'member-api-v6',
      azp: 'autopilot-v6',
      scope: SCOPES.refresh,
      iat: t,
      exp: t + 600,
      ...claims,
    })
      .setProtectedHeader({ alg: 'RS256', kid })
      .sign(key.privateKey);
  };

  beforeAll(async () => {
    jose = await loadJose();
    fx = await fixtureDatabase('api_auth_jwks');
    reader = await watchReadSource(fx.dbs.members);
    issuerKeys = await localIssuerKeys(tempDir());
    const server = createServer((req, res) => {
      jwks.hits++;
      if (jwks.mode === 'hang') return; // never answers: the fetch must time out
      if (jwks.mode === 'error' || req.url !== '/.well-known/jwks.json') {
        res.writeHead(500).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(issuerKeys.jwks));
    });
    jwks = { server, url: '', hits: 0, mode: 'ok' };
    jwks.url = `${await listen(server)}/.well-known/jwks.json`;
  });
  afterAll(async () => {
    jwks?.server.closeAllConnections();
    await new Promise((r) => jwks?.server.close(r));
    reader?.close();
    await fx?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('verifies against the fetched key set, fetches it once, and refuses unknown kids and other issuers', async () => {
    jwks.mode = 'ok';
    jwks.hits = 0;
    const app = await remoteApi(jwks.url);
    try {
      const res = await post(app, `Bearer ${await token()}`);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().caller).toEqual({ clientId: 'autopilot-v6', scopes: ['refresh:member_stats'], admin: false });
      expect((await post(app, `Bearer ${await token({ scope: 'rerate:member_stats' })}`)).statusCode).toBe(403);
      expect(jwks.hits).toBe(1); // cached
      // an unknown kid within the cooldown: no refetch, 401
      const other = await localIssuerKeys(tempDir());
      expect401(await post(app, `Bearer ${await token({}, other)}`), /key the issuer does not publish/);
      expect(jwks.hits).toBe(1);
      expect401(await post(app, `Bearer ${await token({ iss: 'cutover-local' })}`), /issuer/);
      // the issuer going down does not undo keys already fetched
      jwks.mode = 'error';
      expect((await post(app, `Bearer ${await token()}`)).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it.each<[string, 'error' | 'hang' | 'down']>([
    ['answers 500', 'error'],
    ['never answers (timeout)', 'hang'],
    ['is not listening', 'down'],
  ])('an issuer whose JWKS %s → 503 in the outage shape, not 401', async (_what, mode) => {
    let url = jwks.url;
    if (mode === 'down') {
      const gone = createServer();
      url = `${await listen(gone)}/.well-known/jwks.json`;
      await new Promise((r) => gone.close(r));
    } else jwks.mode = mode;
    const app = await remoteApi(url, 300);
    try {
      const res = await post(app, `Bearer ${await token()}`);
      expect(res.statusCode, res.body).toBe(503);
      expect(ApiError.parse(res.json())).toEqual({ error: 'unavailable', message: 'the token issuer is unreachable; retry shortly' });
      // a token that is no JWT is refused without asking the issuer
      expect401(await post(app, 'Bearer aaa.bbb.ccc'), /not a well-formed JWT/);
      expect401(await post(app), /bearer token is required/, false);
    } finally {
      await app.close();
      jwks.server.closeAllConnections();
    }
  });
});
