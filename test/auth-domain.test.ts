import { describe, expect, it } from 'vitest';
import { allows, callerFromClaims, isScope, SCOPES } from '../domain/auth';

const rules = { adminRoles: ['administrator'], rolesClaim: 'roles' };

describe('callerFromClaims', () => {
  it('reads a space-separated scope claim and the client from azp', () => {
    const c = callerFromClaims(
      { scope: 'refresh:member_stats  rerate:member_stats read:other', azp: 'autopilot', sub: 'autopilot@clients' },
      rules,
    );
    expect(c).toEqual({ clientId: 'autopilot', scopes: ['refresh:member_stats', 'rerate:member_stats', 'read:other'], admin: false });
  });

  it('reads scp as an array or a string, merged with scope and without repeats', () => {
    expect(callerFromClaims({ scp: ['refresh:member_stats', 'rerate:member_stats'] }, rules).scopes).toEqual([
      'refresh:member_stats',
      'rerate:member_stats',
    ]);
    expect(callerFromClaims({ scp: 'rerate:member_stats' }, rules).scopes).toEqual(['rerate:member_stats']);
    expect(callerFromClaims({ scope: 'a b', scp: ['b', 'c'] }, rules).scopes).toEqual(['a', 'b', 'c']);
  });

  it('names the client by azp, then client_id, then sub, then "unknown"', () => {
    expect(callerFromClaims({ azp: 'a', client_id: 'b', sub: 'c' }, rules).clientId).toBe('a');
    expect(callerFromClaims({ client_id: 'b', sub: 'c' }, rules).clientId).toBe('b');
    expect(callerFromClaims({ sub: 'c' }, rules).clientId).toBe('c');
    expect(callerFromClaims({}, rules).clientId).toBe('unknown');
    expect(callerFromClaims({ azp: '  ', sub: 'c' }, rules).clientId).toBe('c');
  });

  it('grants nothing for claims of the wrong type instead of failing', () => {
    const c = callerFromClaims({ scope: 42, scp: { a: 1 }, azp: 7, roles: { administrator: true } }, rules);
    expect(c).toEqual({ clientId: 'unknown', scopes: [], admin: false });
    expect(callerFromClaims({ scp: ['refresh:member_stats', 3, null] }, rules).scopes).toEqual(['refresh:member_stats']);
  });

  it('is admin when the roles claim (array or string, any claim name) holds an admin role, case-insensitively', () => {
    expect(callerFromClaims({ roles: ['Topcoder User', 'administrator'] }, rules).admin).toBe(true);
    expect(callerFromClaims({ roles: 'Administrator' }, rules).admin).toBe(true);
    expect(callerFromClaims({ roles: ['Topcoder User'] }, rules).admin).toBe(false);
    // a role is matched whole, never as a substring
    expect(callerFromClaims({ roles: ['not-administrator'] }, rules).admin).toBe(false);
    const topcoder = { adminRoles: ['administrator', 'Connect Admin'], rolesClaim: 'https://topcoder-dev.com/roles' };
    expect(callerFromClaims({ 'https://topcoder-dev.com/roles': ['connect admin'] }, topcoder).admin).toBe(true);
    expect(callerFromClaims({ roles: ['administrator'] }, topcoder).admin).toBe(false);
    // an inherited property is no claim
    expect(callerFromClaims({}, { adminRoles: ['administrator'], rolesClaim: 'constructor' }).admin).toBe(false);
  });
});

describe('scopes', () => {
  it('admins pass every scope; others need the scope itself', () => {
    expect(allows({ clientId: 'x', scopes: [SCOPES.refresh], admin: false }, SCOPES.refresh)).toBe(true);
    expect(allows({ clientId: 'x', scopes: [SCOPES.refresh], admin: false }, SCOPES.rerate)).toBe(false);
    expect(allows({ clientId: 'x', scopes: [], admin: true }, SCOPES.rerate)).toBe(true);
  });

  it('knows exactly the two member stats scopes and the operator’s', () => {
    expect(SCOPES).toEqual({ refresh: 'refresh:member_stats', rerate: 'rerate:member_stats', operate: 'operate:cutover' });
    expect(isScope('refresh:member_stats')).toBe(true);
    expect(isScope('refresh:member_stat')).toBe(false);
  });
});
