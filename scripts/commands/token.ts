import type { Command } from 'commander';
import { z } from 'zod';
import { isScope, SCOPE_NAMES } from '../../domain/auth';
import { parseConfig, type Config } from '../../domain/config';
import { DEFAULT_TTL_SECONDS, localIssuerKeys, MAX_TTL_SECONDS, mintToken } from '../../lib/auth-keys';
import { stderrLog } from '../../lib/stack';
import { UsageError } from '../cli-support';

/**
 * `token --scope refresh:member_stats [--scope …] [--client-id id] [--ttl-seconds n] [--admin] [--json]`: a short-lived
 * bearer token from the local issuer, for curl, the autopilot and tests. Needs no database or Temporal: the config,
 * the key pair under the data directory (made on first use, shared with `serve`), and a signature. Refused when
 * AUTH_JWKS_URL is set: the API then trusts only the real issuer, whose tokens this cannot make.
 */

const TokenFlags = z
  .object({
    // each --scope may itself list several, comma- or space-separated
    scope: z
      .array(z.string())
      .default([])
      .transform((a) => [...new Set(a.flatMap((s) => s.split(/[\s,]+/)).filter((s) => s !== ''))])
      .superRefine((scopes, ctx) => {
        const bad = scopes.filter((s) => !isScope(s));
        const list = bad.map((s) => `"${s.slice(0, 60)}"`).join(', ');
        if (bad.length > 0) ctx.addIssue({ code: 'custom', message: `unknown scope ${list}: valid scopes are ${SCOPE_NAMES.join(', ')}` });
      }),
    clientId: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9._:@-]{1,128}$/, '--client-id must be 1-128 letters, digits or . _ : @ -')
      .default('cutover-cli'),
    ttlSeconds: z
      .string()
      .regex(/^\s*\d{1,6}\s*$/, `--ttl-seconds must be a whole number of seconds (at most ${MAX_TTL_SECONDS})`)
      .transform(Number)
      .pipe(
        z
          .number()
          .min(1, '--ttl-seconds must be at least 1')
          .max(MAX_TTL_SECONDS, `--ttl-seconds must be at most ${MAX_TTL_SECONDS} (a day)`),
      )
      .default(DEFAULT_TTL_SECONDS),
    admin: z.boolean().default(false),
    json: z.boolean().default(false),
  })
  .refine((f) => f.scope.length > 0 || f.admin, `give at least one --scope (${SCOPE_NAMES.join(', ')}) or --admin`);
export type TokenFlags = z.infer<typeof TokenFlags>;

export function parseTokenFlags(raw: Record<string, unknown>): TokenFlags {
  const parsed = TokenFlags.safeParse(raw);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
  return parsed.data;
}

export interface MintedToken {
  token: string;
  expiresAt: string;
  scopes: string[];
  clientId: string;
}

/** Mints from the local issuer for this configuration; UsageError when a real issuer is configured. */
export async function mintLocalToken(config: Config, flags: TokenFlags): Promise<MintedToken> {
  if (config.auth.jwksUrl) {
    throw new UsageError(
      `AUTH_JWKS_URL is set (${config.auth.jwksUrl}): the API accepts only that issuer's tokens, so get one from it ` +
        '(client credentials); unset AUTH_JWKS_URL to use the local issuer',
    );
  }
  const keys = await localIssuerKeys(config.dataDir);
  const token = await mintToken(keys, {
    scopes: flags.scope,
    clientId: flags.clientId,
    ttlSeconds: flags.ttlSeconds,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    rolesClaim: config.auth.rolesClaim,
    roles: flags.admin ? [config.auth.adminRoles[0]!] : undefined,
  });
  // the expiry the token itself carries (jose is ESM-only: a dynamic import from CommonJS)
  const { exp } = (await import('jose')).decodeJwt(token);
  return { token, expiresAt: new Date((exp ?? 0) * 1000).toISOString(), scopes: flags.scope, clientId: flags.clientId };
}

export function registerToken(program: Command): void {
  program
    .command('token')
    .description('mint a short-lived bearer token from the local issuer for the API write routes (not with AUTH_JWKS_URL)')
    .option('--scope <scope>', `a scope to grant, repeatable: ${SCOPE_NAMES.join(', ')}`, (v: string, acc: string[]) => [...acc, v], [])
    .option('--client-id <id>', 'the client the token names (azp): what evidence records', 'cutover-cli')
    .option('--ttl-seconds <n>', `lifetime in seconds (default ${DEFAULT_TTL_SECONDS}, at most ${MAX_TTL_SECONDS})`)
    .option('--admin', 'add the admin role (the first of AUTH_ADMIN_ROLES): passes every scope check')
    .option('--json', 'print {token, expiresAt, scopes, clientId} as JSON')
    .action(async (opts: Record<string, unknown>) => {
      const flags = parseTokenFlags(opts);
      const minted = await mintLocalToken(parseConfig(process.env), flags);
      process.stdout.write(flags.json ? `${JSON.stringify(minted, null, 2)}\n` : `${minted.token}\n`);
      stderrLog(
        `token for ${minted.clientId} (${[...minted.scopes, ...(flags.admin ? ['admin'] : [])].join(', ')}), expires ${minted.expiresAt}`,
      );
    });
}
