import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../domain/config';

describe('configuration', () => {
  it('defaults to one local database and a local dev server', () => {
    const c = parseConfig({});
    expect(c.databaseDefaulted).toBe(true);
    expect(c.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/cutover');
    expect(c.challengesDbUrl).toBe(c.databaseUrl);
    expect(c.reviewDbUrl).toBe(c.databaseUrl);
    expect(c.temporal.address).toBeUndefined();
    expect(c.temporal.taskQueue).toBe('cutover');
    expect(c.temporal.uiPort).toBe(8233);
    expect(c.ratingMissingMetadata).toBe('rated');
    expect(parseConfig({ RATING_MISSING_METADATA: 'unrated' }).ratingMissingMetadata).toBe('unrated');
  });

  it('lets each database be its own, and accepts CHALLENGE_DB_URL as the alias', () => {
    const c = parseConfig({
      DATABASE_URL: 'postgres://u@db1:5432/members',
      CHALLENGE_DB_URL: 'postgres://u@db2:5432/challenges',
      REVIEW_DB_URL: 'postgresql://u@db3/reviews',
    });
    expect(c.databaseDefaulted).toBe(false);
    expect(c.challengesDbUrl).toBe('postgres://u@db2:5432/challenges');
    expect(c.reviewDbUrl).toBe('postgresql://u@db3/reviews');
  });

  it('treats empty values as unset', () => {
    expect(parseConfig({ DATABASE_URL: '', TEMPORAL_ADDRESS: '' }).databaseDefaulted).toBe(true);
  });

  it.each([
    [{ DATABASE_URL: 'mysql://x@h/db' }, /DATABASE_URL must be a postgres URL with a host and a database name/],
    [{ DATABASE_URL: 'postgres://h:5432' }, /DATABASE_URL must be a postgres URL .* e\.g\. postgres:\/\//],
    [{ REVIEW_DB_URL: 'not a url' }, /REVIEW_DB_URL must be a postgres URL/],
    [{ TEMPORAL_ADDRESS: 'http://temporal:7233' }, /TEMPORAL_ADDRESS must be host:port.*unset it to start a local dev server/],
    [{ TEMPORAL_UI_PORT: 'eighty' }, /TEMPORAL_UI_PORT must be a port number/],
    [{ TEMPORAL_PORT: '70000' }, /TEMPORAL_PORT must be between 1 and 65535/],
    [{ STATS_READ_SOURCE: 'both' }, /STATS_READ_SOURCE must be "legacy" or "unified"/],
    [{ API_URL: 'localhost' }, /API_URL must be an http\(s\) URL/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ RATING_MISSING_METADATA: 'maybe' }, /RATING_MISSING_METADATA must be "rated" or "unrated"/],
  ])('rejects %j naming the variable and the fix', (env, message) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(message);
  });

  it('reports every bad variable at once', () => {
    try {
      parseConfig({ DATABASE_URL: 'x', TEMPORAL_PORT: 'y' });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/DATABASE_URL/);
      expect((e as Error).message).toMatch(/TEMPORAL_PORT/);
    }
  });

  it('refuses two different challenge database URLs', () => {
    expect(() => parseConfig({ CHALLENGES_DB_URL: 'postgres://a@h/x', CHALLENGE_DB_URL: 'postgres://a@h/y' })).toThrow(/set only one/);
  });
});

describe('auth configuration', () => {
  it('defaults to the local issuer, the member-api-v6 audience and the administrator role', () => {
    expect(parseConfig({}).auth).toEqual({
      jwksUrl: undefined,
      issuer: 'cutover-local',
      audience: 'member-api-v6',
      adminRoles: ['administrator'],
      rolesClaim: 'roles',
    });
  });

  it('takes a JWKS URL with its issuer, a comma list of admin roles and a namespaced roles claim', () => {
    const c = parseConfig({
      AUTH_JWKS_URL: 'https://auth.topcoder-dev.com/.well-known/jwks.json',
      AUTH_ISSUER: 'https://auth.topcoder-dev.com/',
      AUTH_AUDIENCE: 'https://m2m.topcoder-dev.com/',
      AUTH_ADMIN_ROLES: ' administrator , Connect Admin,,',
      AUTH_ROLES_CLAIM: 'https://topcoder-dev.com/roles',
    });
    expect(c.auth).toEqual({
      jwksUrl: 'https://auth.topcoder-dev.com/.well-known/jwks.json',
      issuer: 'https://auth.topcoder-dev.com/',
      audience: 'https://m2m.topcoder-dev.com/',
      adminRoles: ['administrator', 'Connect Admin'],
      rolesClaim: 'https://topcoder-dev.com/roles',
    });
    expect(parseConfig({ AUTH_JWKS_URL: 'http://127.0.0.1:8080/jwks', AUTH_ISSUER: 'x' }).auth.jwksUrl).toBe('http://127.0.0.1:8080/jwks');
  });

  it.each([
    [{ AUTH_JWKS_URL: 'https://auth.example.com/jwks' }, /AUTH_ISSUER is required when AUTH_JWKS_URL is set/],
    [
      { AUTH_JWKS_URL: 'ftp://auth.example.com/jwks', AUTH_ISSUER: 'x' },
      /AUTH_JWKS_URL must be the http\(s\) URL .*unset it to use the local issuer/,
    ],
    [{ AUTH_JWKS_URL: 'jwks.json', AUTH_ISSUER: 'x' }, /AUTH_JWKS_URL must be the http\(s\) URL/],
    [{ AUTH_ISSUER: '   ' }, /AUTH_ISSUER is blank/],
    [{ AUTH_AUDIENCE: ' ' }, /AUTH_AUDIENCE is blank: unset it to use "member-api-v6"/],
    [{ AUTH_ADMIN_ROLES: ' , ' }, /AUTH_ADMIN_ROLES names no role/],
    [{ AUTH_ROLES_CLAIM: ' ' }, /AUTH_ROLES_CLAIM is blank/],
  ])('rejects %j naming the variable and the fix', (env, message) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(message);
  });
});
