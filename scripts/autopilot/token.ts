import { SCOPES } from '../../domain/auth';
import type { Config } from '../../domain/config';
import { localIssuerKeys, MAX_TTL_SECONDS, mintToken } from '../../lib/auth-keys';
import { UsageError } from '../cli-support';

/**
 * The autopilot's M2M token: given (--token, else env AUTOPILOT_TOKEN), or minted from the local issuer
 * (lib/auth-keys.ts, the key pair `serve` verifies with) for client `autopilot-v6` with scope refresh:member_stats.
 * A real issuer (AUTH_JWKS_URL) cannot be minted for: then a token must be given.
 */

export const AUTOPILOT_CLIENT_ID = 'autopilot-v6';

export interface AutopilotToken {
  token: string;
  source: 'flag' | 'env' | 'minted';
}

export async function autopilotToken(
  config: Config,
  given: { flag?: string; env?: string },
  /** how long the run needs it (s): the token outlives the run, up to the issuer's maximum */
  lifetimeSeconds: number,
): Promise<AutopilotToken> {
  if (given.flag) return { token: given.flag, source: 'flag' };
  if (given.env) return { token: given.env, source: 'env' };
  if (config.auth.jwksUrl) {
    throw new UsageError(
      `AUTH_JWKS_URL is set (${config.auth.jwksUrl}): the API accepts only that issuer's tokens; pass one with --token or AUTOPILOT_TOKEN`,
    );
  }
  const keys = await localIssuerKeys(config.dataDir);
  const token = await mintToken(keys, {
    scopes: [SCOPES.refresh],
    clientId: AUTOPILOT_CLIENT_ID,
    ttlSeconds: Math.min(MAX_TTL_SECONDS, Math.ceil(lifetimeSeconds)),
    issuer: config.auth.issuer,
    audience: config.auth.audience,
  });
  return { token, source: 'minted' };
}
