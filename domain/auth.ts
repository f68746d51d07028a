import { z } from 'zod';

/**
 * Who calls the write routes, from a verified token's claims. Pure: the signature, issuer and audience are checked
 * by api/auth.ts before the claims get here; this only reads what they grant.
 */

/**
 * The M2M scopes member-api-v6 grants autopilot (each write route requires one), and the operator's scope for the
 * dashboard's actions on a cutover (approve, pause, resume, cancel, rollback, retry).
 */
export const SCOPES = { refresh: 'refresh:member_stats', rerate: 'rerate:member_stats', operate: 'operate:cutover' } as const;
export type Scope = (typeof SCOPES)[keyof typeof SCOPES];
export const SCOPE_NAMES: readonly Scope[] = Object.values(SCOPES);
export const isScope = (s: string): s is Scope => (SCOPE_NAMES as readonly string[]).includes(s);

export interface Caller {
  /** the client (azp / client_id) or subject the token was issued to: what evidence records, never the token */
  clientId: string;
  scopes: string[];
  /** holds one of the admin roles: passes every scope check */
  admin: boolean;
}

export interface ClaimRules {
  adminRoles: readonly string[];
  /** the claim holding roles; Topcoder namespaces it, e.g. https://topcoder-dev.com/roles */
  rolesClaim: string;
}

/** A space-separated string or an array of strings; anything else (a signed but odd token) grants nothing. */
const words = z
  .union([z.string().transform((s) => s.split(/\s+/)), z.array(z.unknown()).transform((a) => a.filter((x) => typeof x === 'string'))])
  .transform((a) => a.map((s) => s.trim()).filter((s) => s !== ''))
  .optional()
  .catch(undefined);
const id = z.string().trim().min(1).optional().catch(undefined);
/** One role per array item; a string is one role (role names contain spaces, e.g. "Topcoder User"). */
const roles = z
  .union([z.string().transform((s) => [s]), z.array(z.unknown()).transform((a) => a.filter((x) => typeof x === 'string'))])
  .optional()
  .catch(undefined);

const Claims = z.object({ scope: words, scp: words, azp: id, client_id: id, sub: id });

export function callerFromClaims(claims: Record<string, unknown>, rules: ClaimRules): Caller {
  const c = Claims.parse(claims);
  const scopes = [...new Set([...(c.scope ?? []), ...(c.scp ?? [])])];
  // role names compare case-insensitively: issuers differ on "Administrator" vs "administrator"
  const roleClaim = Object.hasOwn(claims, rules.rolesClaim) ? claims[rules.rolesClaim] : undefined;
  const held = new Set((roles.parse(roleClaim) ?? []).map((r) => r.trim().toLowerCase()));
  const admin = rules.adminRoles.some((r) => held.has(r.trim().toLowerCase()));
  return { clientId: c.azp ?? c.client_id ?? c.sub ?? 'unknown', scopes, admin };
}

/** Admins pass every scope check; everyone else needs the scope itself. */
export const allows = (caller: Caller, scope: Scope): boolean => caller.admin || caller.scopes.includes(scope);
