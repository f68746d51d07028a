import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createVerifier } from '../api/auth';
import { parseConfig } from '../domain/config';
import { authKeyPaths, localIssuerKeys } from '../lib/auth-keys';
import { cli } from './support/cli';

/** `cutover token`: mints what the API's verifier accepts, without a database; refuses bad input with exit 2. */

const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;

describe('cutover token', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'cutover-token-'));
    dirs.push(d);
    return d;
  };
  // no database, no Temporal: a data directory is all it needs (AUTH_* unset whatever the shell has)
  const envFor = (dataDir: string, extra: Record<string, string> = {}) => ({
    CUTOVER_DATA_DIR: dataDir,
    DATABASE_URL: 'postgres://nobody@127.0.0.1:1/unreachable',
    TEMPORAL_ADDRESS: '127.0.0.1:1',
    AUTH_JWKS_URL: '',
    AUTH_ISSUER: '',
    AUTH_AUDIENCE: '',
    AUTH_ADMIN_ROLES: '',
    AUTH_ROLES_CLAIM: '',
    ...extra,
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('two processes starting on a fresh data directory share one key pair; what they print verifies with the API verifier', async () => {
    const dir = tempDir();
    const env = envFor(dir);
    const [a, b, admin] = await Promise.all([
      cli(['token', '--scope', 'refresh:member_stats', '--client-id', 'autopilot', '--json'], env),
      cli(['token', '--scope', 'refresh:member_stats,rerate:member_stats'], env),
      cli(['token', '--admin', '--ttl-seconds', '60', '--client-id', 'ops'], env),
    ]);
    for (const r of [a, b, admin])
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.stringMatching(/token for/) });
    const minted = JSON.parse(a.stdout) as { token: string; expiresAt: string; scopes: string[]; clientId: string };
    expect(minted).toEqual({
      token: expect.stringMatching(JWT),
      expiresAt: expect.any(String),
      scopes: ['refresh:member_stats'],
      clientId: 'autopilot',
    });
    const ttl = Date.parse(minted.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(3_500_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
    // stdout is the token alone, for $(npm run --silent cutover -- token …)
    expect(b.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(admin.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);

    const config = parseConfig(env);
    const verifier = await createVerifier(config.auth, { dataDir: dir });
    expect(await verifier.verify(minted.token)).toEqual({ clientId: 'autopilot', scopes: ['refresh:member_stats'], admin: false });
    expect(await verifier.verify(b.stdout.trim())).toEqual({
      clientId: 'cutover-cli',
      scopes: ['refresh:member_stats', 'rerate:member_stats'],
      admin: false,
    });
    expect(await verifier.verify(admin.stdout.trim())).toEqual({ clientId: 'ops', scopes: [], admin: true });
    const { decodeJwt } = await import('jose');
    const claims = decodeJwt(admin.stdout.trim());
    expect(claims.exp! - claims.iat!).toBe(60);
    expect(claims).toMatchObject({ iss: 'cutover-local', aud: 'member-api-v6', azp: 'ops', sub: 'ops@clients', roles: ['administrator'] });

    const paths = authKeyPaths(dir);
    expect(statSync(paths.privateJwk).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(paths.publicJwks, 'utf8')).keys).toHaveLength(1);
  }, 120_000);

  it('the admin role goes into the configured roles claim', async () => {
    const dir = tempDir();
    const env = envFor(dir, { AUTH_ROLES_CLAIM: 'https://topcoder-dev.com/roles', AUTH_ADMIN_ROLES: 'Connect Admin,administrator' });
    const r = await cli(['token', '--admin'], env);
    expect(r.code, r.stderr).toBe(0);
    const { decodeJwt } = await import('jose');
    expect(decodeJwt(r.stdout.trim())['https://topcoder-dev.com/roles']).toEqual(['Connect Admin']);
    const verifier = await createVerifier(parseConfig(env).auth, { dataDir: dir });
    expect((await verifier.verify(r.stdout.trim())).admin).toBe(true);
  }, 60_000);

  // each is a whole CLI start (tsx): run side by side
  it.concurrent.each<[string, string[], Record<string, string>, RegExp]>([
    ['an unknown scope', ['--scope', 'bogus'], {}, /unknown scope "bogus": valid scopes are refresh:member_stats, rerate:member_stats/],
    ['an unknown scope among good ones', ['--scope', 'refresh:member_stats', '--scope', 'write:all'], {}, /unknown scope "write:all"/],
    ['no scope and no --admin', [], {}, /give at least one --scope/],
    ['a lifetime over a day', ['--scope', 'refresh:member_stats', '--ttl-seconds', '86401'], {}, /--ttl-seconds must be at most 86400/],
    ['a lifetime of zero', ['--scope', 'refresh:member_stats', '--ttl-seconds', '0'], {}, /--ttl-seconds must be at least 1/],
    [
      'a lifetime that is no number',
      ['--scope', 'refresh:member_stats', '--ttl-seconds', '1h'],
      {},
      /--ttl-seconds must be a whole number/,
    ],
    ['a client id with spaces', ['--scope', 'refresh:member_stats', '--client-id', 'auto pilot'], {}, /--client-id must be/],
    [
      'a real issuer configured',
      ['--scope', 'refresh:member_stats'],
      { AUTH_JWKS_URL: 'https://auth.example.com/.well-known/jwks.json', AUTH_ISSUER: 'https://auth.example.com/' },
      /AUTH_JWKS_URL is set .*unset AUTH_JWKS_URL to use the local issuer/,
    ],
    [
      'a JWKS URL without its issuer',
      ['--scope', 'refresh:member_stats'],
      { AUTH_JWKS_URL: 'https://auth.example.com/jwks' },
      /AUTH_ISSUER is required/,
    ],
  ])(
    '%s → exit 2, a reason, no token and no key written',
    async (_what, args, extra, message) => {
      const dir = tempDir();
      const r = await cli(['token', ...args], envFor(dir, extra));
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
      expect(() => statSync(authKeyPaths(dir).dir)).toThrow(/ENOENT/);
    },
    60_000,
  );

  it('key pairs created at once in one process agree, and load the same afterwards', async () => {
    const dir = tempDir();
    const all = await Promise.all(Array.from({ length: 8 }, () => localIssuerKeys(dir)));
    expect(new Set(all.map((k) => k.kid)).size).toBe(1);
    expect((await localIssuerKeys(dir)).jwks).toEqual(all[0]!.jwks);
  });
});
