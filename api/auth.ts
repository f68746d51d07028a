import type { FastifyReply, FastifyRequest } from 'fastify';
import type { JWTVerifyGetKey } from 'jose' with { 'resolution-mode': 'import' };
import { allows, callerFromClaims, type Caller, type Scope } from '../domain/auth';
import type { Config } from '../domain/config';
import { localIssuerKeys } from '../lib/auth-keys';
import { HttpError } from './errors';

/**
 * Bearer-JWT auth for the write routes (reads stay public). A token is an RS256 JWT from the configured issuer:
 * AUTH_JWKS_URL (an Auth0-style issuer, as member-api-v6 uses) or, without it, the local issuer's key under the data
 * directory (lib/auth-keys.ts, minted by `cutover token`). Issuer, audience and expiry are checked; the scopes or an
 * admin role decide. Nothing of the token is ever logged or echoed: only why it was refused.
 *
 * Usage, in a route plugin given ApiOptions.auth:
 *
 *   app.post('/members/:handle/stats/refresh', { preHandler: requireScope(opts.auth, SCOPES.refresh) }, async (req) => {
 *     const caller = callerOf(req); // { clientId, scopes, admin }: record caller.clientId as evidence
 *     …
 *   });
 *
 * 401 missing/invalid token, 403 valid without the scope, 503 the issuer's JWKS is unreachable (or no verifier).
 */

declare module 'fastify' {
  interface FastifyRequest {
    /** who called, set by requireScope once the token verified and holds the scope; never the token */
    caller?: Caller;
  }
}

// jose is ESM-only and this package is CommonJS: loaded by dynamic import (types above are type-only)
const jose = () => import('jose');

/** The token was refused (401): the message says why, in words that carry nothing of the token. */
export class InvalidToken extends Error {
  override name = 'InvalidToken';
}

/** The issuer's JWKS could not be fetched (503): the token may well be good, we cannot tell now. */
export class IssuerUnavailable extends Error {
  override name = 'IssuerUnavailable';
}

export interface AuthVerifier {
  /** local: the key under the data directory; jwks: the issuer's key set at AUTH_JWKS_URL */
  readonly mode: 'local' | 'jwks';
  /** the caller a token grants; throws InvalidToken or IssuerUnavailable */
  verify(token: string): Promise<Caller>;
}

export interface VerifierOptions {
  /** where the local issuer's key pair lives (config.dataDir); unused with a JWKS URL */
  dataDir: string;
  /** a JWKS fetch that takes longer fails (default 5 s) */
  jwksTimeoutMs?: number;
  /** an unknown kid refetches the JWKS at most this often (default 30 s): garbage kids cannot hammer the issuer */
  jwksCooldownMs?: number;
  /** keys are refetched when this old (default 10 min), so a rotation is seen */
  jwksCacheMaxAgeMs?: number;
}

/** clock skew tolerated between the issuer and us, on exp, nbf and iat */
const CLOCK_TOLERANCE_S = 30;

/** A key-set failure that is the token's (its kid or alg matches no published key), not the issuer's. */
const TOKEN_KEY_FAULTS = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'ERR_JOSE_NOT_SUPPORTED']);
const codeOf = (e: unknown): string | undefined => {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

async function keyResolver(auth: Config['auth'], opts: VerifierOptions): Promise<JWTVerifyGetKey> {
  const { createLocalJWKSet, createRemoteJWKSet } = await jose();
  if (!auth.jwksUrl) return createLocalJWKSet((await localIssuerKeys(opts.dataDir)).jwks);
  const remote = createRemoteJWKSet(new URL(auth.jwksUrl), {
    timeoutDuration: opts.jwksTimeoutMs ?? 5_000,
    cooldownDuration: opts.jwksCooldownMs ?? 30_000,
    cacheMaxAge: opts.jwksCacheMaxAgeMs ?? 600_000,
  });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (e) {
      if (TOKEN_KEY_FAULTS.has(codeOf(e) ?? '')) throw e;
      // refused, timed out, not 200, not a JWKS: the issuer's trouble, not the caller's
      const cause = e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e);
      throw new IssuerUnavailable(`the JWKS at ${auth.jwksUrl} could not be fetched: ${cause}`);
    }
  };
}

/** Why jose refused a token, in our words (jose's messages are fixed strings, but ours say what to do). */
function reasonOf(e: unknown): string {
  const claim = (e as { claim?: unknown }).claim;
  switch (codeOf(e)) {
    case 'ERR_JWT_EXPIRED':
      return 'the token has expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'iss') return 'the token is from an issuer this API does not accept';
      if (claim === 'aud') return 'the token is not for this API (audience)';
      if (claim === 'nbf') return 'the token is not valid yet';
      if (claim === 'exp') return 'the token has no valid expiry';
      if (claim === 'iat') return 'the token is issued in the future';
      return 'the token has an invalid claim';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'the token is not signed with RS256';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'the token signature does not verify';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'the token is signed with a key the issuer does not publish (kid)';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'the token is not a well-formed JWT';
    default:
      return 'the token could not be verified';
  }
}

/** The verifier for a configuration: the issuer's JWKS, or the local issuer's key (generated on first use). */
export async function createVerifier(auth: Config['auth'], opts: VerifierOptions): Promise<AuthVerifier> {
  const getKey = await keyResolver(auth, opts);
  const { jwtVerify } = await jose();
  const rules = { adminRoles: auth.adminRoles, rolesClaim: auth.rolesClaim };
  return {
    mode: auth.jwksUrl ? 'jwks' : 'local',
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, getKey, {
          algorithms: ['RS256'],
          issuer: auth.issuer,
          audience: auth.audience,
          clockTolerance: CLOCK_TOLERANCE_S,
          requiredClaims: ['exp'],
        });
        return callerFromClaims(payload, rules);
      } catch (e) {
        if (e instanceof IssuerUnavailable) throw e;
        throw new InvalidToken(reasonOf(e));
      }
    },
  };
}

const REALM = 'member-api';
// RFC 6750 §2.1 b64token
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

const unauthorized = (message: string, withError = true) =>
  new HttpError(401, message, {
    'www-authenticate': withError ? `Bearer realm="${REALM}", error="invalid_token"` : `Bearer realm="${REALM}"`,
  });

/** The token from `Authorization: Bearer …`, or a 401 (no error code when there is no credential at all: RFC 6750 §3.1). */
function bearerToken(header: string | undefined): string {
  if (header === undefined || header.trim() === '') {
    throw unauthorized('a bearer token is required: send Authorization: Bearer <token>', false);
  }
  const [scheme, credentials, ...rest] = header.trim().split(/ +/);
  if (scheme?.toLowerCase() !== 'bearer') throw unauthorized('the Authorization header must use the Bearer scheme');
  if (!credentials || rest.length > 0 || !TOKEN68.test(credentials)) throw unauthorized('the bearer token is not a well-formed JWT');
  return credentials;
}

/**
 * A route preHandler: the request carries a valid token holding `scope` (or an admin role), else it is answered
 * 401/403/503 before the handler runs; on success `request.caller` is set. No verifier (auth not configured) → 503:
 * a write route never runs unauthenticated.
 */
export function requireScope(
  verifier: AuthVerifier | undefined,
  scope: Scope,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async function requireScopeHandler(request) {
    if (!verifier) throw new HttpError(503, 'authentication is not configured on this server');
    const token = bearerToken(request.headers.authorization);
    let caller: Caller;
    try {
      caller = await verifier.verify(token);
    } catch (e) {
      if (e instanceof IssuerUnavailable) {
        request.log.warn({ reason: e.message }, 'token issuer unreachable');
        throw new HttpError(503, 'the token issuer is unreachable; retry shortly');
      }
      if (e instanceof InvalidToken) {
        request.log.info({ reason: e.message }, 'bearer token refused');
        throw unauthorized(e.message);
      }
      throw e;
    }
    if (!allows(caller, scope)) {
      request.log.info({ clientId: caller.clientId, scope }, 'bearer token lacks the scope');
      throw new HttpError(403, `the token does not grant the scope ${scope}`, {
        'www-authenticate': `Bearer error="insufficient_scope", scope="${scope}"`,
      });
    }
    request.caller = caller;
  };
}

/** The caller requireScope set; a route that forgot requireScope fails loudly (500) rather than run unauthenticated. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new Error(`route ${request.routeOptions.url ?? request.url} has no requireScope preHandler`);
  return request.caller;
}
