import { randomUUID } from 'node:crypto';
import { access, chmod, link, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CryptoKey, JSONWebKeySet, JWK } from 'jose' with { 'resolution-mode': 'import' };
import { z } from 'zod';

/**
 * The local token issuer for development and tests: one RS256 key pair, generated on first use and kept under
 * `<dataDir>/auth/` (the private JWK mode 0600, the public JWKS beside it), so the API started by the stack and
 * `cutover token` agree on the key. With AUTH_JWKS_URL set none of this is used: tokens come from the real issuer.
 */

// jose is ESM-only and this package is CommonJS: loaded by dynamic import (types above are type-only)
const jose = () => import('jose');

export const DEFAULT_TTL_SECONDS = 3600;
/** a day at most: a leaked local token must not live on */
export const MAX_TTL_SECONDS = 86_400;
const ALG = 'RS256';

export interface AuthKeys {
  kid: string;
  privateKey: CryptoKey;
  /** the public half, as a JWKS: what the local verifier trusts */
  jwks: JSONWebKeySet;
}

const b64url = z.string().regex(/^[A-Za-z0-9_-]+$/);
const PrivateJwk = z.object({
  kty: z.literal('RSA'),
  alg: z.literal(ALG),
  kid: z.string().min(1),
  n: b64url,
  e: b64url,
  d: b64url,
  p: b64url,
  q: b64url,
  dp: b64url,
  dq: b64url,
  qi: b64url,
});
type PrivateJwk = z.infer<typeof PrivateJwk>;

export function authKeyPaths(dataDir: string): { dir: string; privateJwk: string; publicJwks: string } {
  const dir = resolve(dataDir, 'auth');
  return { dir, privateJwk: join(dir, 'local-issuer.private.jwk.json'), publicJwks: join(dir, 'local-issuer.jwks.json') };
}

const publicPart = ({ kty, alg, kid, n, e }: PrivateJwk): JWK => ({ kty, alg, kid, n, e, use: 'sig' });

/**
 * Writes `data` at `path` only if nothing is there yet, atomically: a temp file hard-linked into place (link, unlike
 * rename, fails when the target exists, so two processes starting at once cannot both win). false → it existed.
 */
async function createExclusive(path: string, data: string, mode: number): Promise<boolean> {
  const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, data, { mode, flag: 'wx' });
  try {
    await link(tmp, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // a file system without hard links: rename (the race window is the check alone)
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw e;
    if (await exists(path)) return false;
    await rename(tmp, path);
    return true;
  } finally {
    await rm(tmp, { force: true });
  }
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? false : Promise.reject(e)),
  );

async function readPrivateJwk(path: string): Promise<PrivateJwk | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const jwk = PrivateJwk.safeParse(parsed);
  if (!jwk.success) {
    throw new Error(
      `${path} is not an RS256 private JWK: delete it to generate a new key pair (tokens minted with the old one stop verifying)`,
    );
  }
  return jwk.data;
}

async function generate(): Promise<PrivateJwk> {
  const { generateKeyPair, exportJWK, calculateJwkThumbprint } = await jose();
  const { privateKey } = await generateKeyPair(ALG, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  // the RFC 7638 thumbprint: a kid that names this key and no other
  const kid = await calculateJwkThumbprint({ kty: 'RSA', n: jwk.n, e: jwk.e });
  return PrivateJwk.parse({ ...jwk, alg: ALG, kid });
}

/** The local issuer's key pair: loaded, or generated once (safe when several processes start at once). */
export async function localIssuerKeys(dataDir: string): Promise<AuthKeys> {
  const paths = authKeyPaths(dataDir);
  let jwk = await readPrivateJwk(paths.privateJwk);
  if (!jwk) {
    await mkdir(paths.dir, { recursive: true, mode: 0o700 });
    const fresh = await generate();
    jwk = (await createExclusive(paths.privateJwk, JSON.stringify(fresh, null, 2), 0o600)) ? fresh : await readPrivateJwk(paths.privateJwk);
    if (!jwk) throw new Error(`${paths.privateJwk} vanished while it was being created`);
  }
  if (((await stat(paths.privateJwk)).mode & 0o077) !== 0) await chmod(paths.privateJwk, 0o600); // however it got looser
  const jwks: JSONWebKeySet = { keys: [publicPart(jwk)] };
  // derived from the private key, so every writer writes the same bytes; replaced atomically, for operators to read
  const text = `${JSON.stringify(jwks, null, 2)}\n`;
  if ((await readFile(paths.publicJwks, 'utf8').catch(() => '')) !== text) {
    const tmp = `${paths.publicJwks}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(tmp, text, { mode: 0o644 });
    await rename(tmp, paths.publicJwks);
  }
  const { importJWK } = await jose();
  const privateKey = (await importJWK(jwk, ALG)) as CryptoKey;
  return { kid: jwk.kid, privateKey, jwks };
}

// RFC 6749 §3.3 scope-token characters
const scopeToken = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'a scope is printable ASCII without spaces, quotes or backslashes');
const MintOptions = z.object({
  scopes: z.array(scopeToken),
  clientId: z.string().trim().min(1, 'the client id is empty').max(128, 'the client id is longer than 128 characters'),
  ttlSeconds: z
    .number()
    .int('the lifetime is whole seconds')
    .min(1, 'the lifetime is at least 1 second')
    .max(MAX_TTL_SECONDS, `the lifetime is at most ${MAX_TTL_SECONDS} seconds`)
    .default(DEFAULT_TTL_SECONDS),
  issuer: z.string().min(1),
  audience: z.string().min(1),
  roles: z.array(z.string().min(1)).optional(),
  /** where the roles go: the claim the API reads (AUTH_ROLES_CLAIM) */
  rolesClaim: z.string().min(1).default('roles'),
});
export type MintOptions = z.input<typeof MintOptions>;

/** A compact RS256 JWT shaped like an Auth0 M2M token: azp and sub name the client, `scope` is space-separated. */
export async function mintToken(keys: AuthKeys, opts: MintOptions): Promise<string> {
  const parsed = MintOptions.safeParse(opts);
  if (!parsed.success) throw new Error(`cannot mint a token: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  const o = parsed.data;
  const { SignJWT } = await jose();
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = { azp: o.clientId };
  if (o.scopes.length > 0) claims.scope = o.scopes.join(' ');
  if (o.roles) claims[o.rolesClaim] = o.roles;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: ALG, kid: keys.kid, typ: 'JWT' })
    .setIssuer(o.issuer)
    .setAudience(o.audience)
    .setSubject(`${o.clientId}@clients`)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + o.ttlSeconds)
    .sign(keys.privateKey);
}
