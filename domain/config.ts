import { z } from 'zod';

/**
 * Environment configuration, parsed once with zod. Pure: takes an env object, returns config or throws a
 * ConfigError whose message names each bad variable and how to fix it.
 */

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/cutover';

const postgresUrl = (variable: string) =>
  z
    .string()
    .trim()
    .min(1, `${variable} is empty: unset it to use the default, or set a URL like ${DEFAULT_DATABASE_URL}`)
    .refine((v) => {
      try {
        const u = new URL(v);
        return (u.protocol === 'postgres:' || u.protocol === 'postgresql:') && u.hostname !== '' && u.pathname.length > 1;
      } catch {
        return false;
      }
    }, `${variable} must be a postgres URL with a host and a database name, e.g. ${DEFAULT_DATABASE_URL}`);

/** The audience member-api-v6's tokens carry; the local issuer mints for it too. */
const DEFAULT_AUDIENCE = 'member-api-v6';
/** The local issuer's name (lib/auth-keys.ts): tokens minted by `cutover token`. */
const LOCAL_ISSUER = 'cutover-local';

const port = (variable: string, def: number) =>
  z.coerce
    .number({ error: `${variable} must be a port number (1-65535)` })
    .int(`${variable} must be a whole port number`)
    .min(1, `${variable} must be between 1 and 65535`)
    .max(65535, `${variable} must be between 1 and 65535`)
    .default(def);

const EnvSchema = z.object({
  DATABASE_URL: postgresUrl('DATABASE_URL').optional(),
  CHALLENGES_DB_URL: postgresUrl('CHALLENGES_DB_URL').optional(),
  CHALLENGE_DB_URL: postgresUrl('CHALLENGE_DB_URL').optional(),
  REVIEW_DB_URL: postgresUrl('REVIEW_DB_URL').optional(),
  TEMPORAL_ADDRESS: z
    .string()
    .trim()
    .regex(
      /^[A-Za-z0-9.\-_]+:\d{1,5}$/,
      'TEMPORAL_ADDRESS must be host:port, e.g. temporal.internal:7233 (unset it to start a local dev server)',
    )
    .optional(),
  TEMPORAL_NAMESPACE: z.string().trim().min(1, 'TEMPORAL_NAMESPACE is empty: unset it to use "default"').default('default'),
  TEMPORAL_CLI_PATH: z.string().trim().min(1, 'TEMPORAL_CLI_PATH is empty: unset it or point it at the temporal binary').optional(),
  TEMPORAL_PORT: port('TEMPORAL_PORT', 7233),
  TEMPORAL_UI_PORT: port('TEMPORAL_UI_PORT', 8233),
  TASK_QUEUE: z.string().trim().min(1, 'TASK_QUEUE is empty: unset it to use "cutover"').default('cutover'),
  TEMPORAL_SDK_LOG_LEVEL: z
    .enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'], {
      error: 'TEMPORAL_SDK_LOG_LEVEL must be TRACE, DEBUG, INFO, WARN or ERROR (unset it for ERROR)',
    })
    .default('ERROR'),
  STATS_READ_SOURCE: z
    .enum(['legacy', 'unified'], { error: 'STATS_READ_SOURCE must be "legacy" or "unified" (unset it to start from "legacy")' })
    .optional(),
  API_URL: z.url({ error: 'API_URL must be an http(s) URL of the member stats API, e.g. http://127.0.0.1:3000' }).optional(),
  API_PORT: port('API_PORT', 3000),
  RATING_MISSING_METADATA: z
    .enum(['rated', 'unrated'], { error: 'RATING_MISSING_METADATA must be "rated" or "unrated" (unset it for the default, "rated")' })
    .default('rated'),
  CUTOVER_DATA_DIR: z.string().trim().min(1).default('.data'),
  AUTH_JWKS_URL: z
    .url({
      protocol: /^https?$/,
      error:
        "AUTH_JWKS_URL must be the http(s) URL of the issuer's JWKS, e.g. https://auth.example.com/.well-known/jwks.json (unset it to use the local issuer)",
    })
    .optional(),
  AUTH_ISSUER: z.string().trim().min(1, 'AUTH_ISSUER is blank: set it to the tokens\' "iss" value, or unset it').optional(),
  AUTH_AUDIENCE: z.string().trim().min(1, `AUTH_AUDIENCE is blank: unset it to use "${DEFAULT_AUDIENCE}"`).default(DEFAULT_AUDIENCE),
  AUTH_ADMIN_ROLES: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((r) => r.trim())
        .filter((r) => r !== ''),
    )
    .pipe(
      z
        .array(z.string())
        .min(
          1,
          'AUTH_ADMIN_ROLES names no role: give a comma-separated list, e.g. administrator,Connect Admin (unset it for "administrator")',
        ),
    )
    .default(['administrator']),
  AUTH_ROLES_CLAIM: z
    .string()
    .trim()
    .min(1, 'AUTH_ROLES_CLAIM is blank: name the claim holding roles, e.g. https://topcoder-dev.com/roles (unset it for "roles")')
    .default('roles'),
  REFRESH_WAIT_MS: z.coerce
    .number({ error: 'REFRESH_WAIT_MS must be a number of milliseconds (0-120000)' })
    .int('REFRESH_WAIT_MS must be a whole number of milliseconds')
    .min(0, 'REFRESH_WAIT_MS must be between 0 and 120000')
    .max(120_000, 'REFRESH_WAIT_MS must be between 0 and 120000')
    .default(10_000),
  RECONCILE_EVERY_MINUTES: z.coerce
    .number({ error: 'RECONCILE_EVERY_MINUTES must be a number of minutes (1-1440)' })
    .int('RECONCILE_EVERY_MINUTES must be a whole number of minutes')
    .min(1, 'RECONCILE_EVERY_MINUTES must be between 1 and 1440')
    .max(1440, 'RECONCILE_EVERY_MINUTES must be between 1 and 1440')
    .default(5),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
});

export interface Config {
  /** true when DATABASE_URL was not given: we may create the database, or start embedded Postgres. */
  databaseDefaulted: boolean;
  databaseUrl: string;
  challengesDbUrl: string;
  reviewDbUrl: string;
  temporal: {
    /** undefined → start a local dev server */
    address?: string;
    namespace: string;
    cliPath?: string;
    port: number;
    uiPort: number;
    taskQueue: string;
    /** how much of the Temporal SDK's own logging a worker writes (stderr, JSON lines) */
    sdkLogLevel: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  };
  statsReadSource?: 'legacy' | 'unified';
  apiUrl?: string;
  apiPort: number;
  /** is a challenge with no rated/isRated/unrated metadata rated? (domain/rating/participants.ts explains the default) */
  ratingMissingMetadata: 'rated' | 'unrated';
  dataDir: string;
  /** bearer tokens for the write routes: verified against jwksUrl, else the local issuer's key (lib/auth-keys.ts) */
  auth: {
    /** undefined → the local issuer: a key pair under dataDir, tokens from `cutover token` */
    jwksUrl?: string;
    issuer: string;
    audience: string;
    /** any of these in the roles claim passes every scope check */
    adminRoles: string[];
    rolesClaim: string;
  };
  /** phase E: how long a write route waits for its workflow before answering 202; how often the reconciler sweeps */
  refresh: { waitMs: number; reconcileEveryMinutes: number };
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
}

/** Empty strings count as unset, the way shells and .env files usually mean them. */
function clean(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') out[key] = v;
  }
  return out;
}

export function parseConfig(env: Record<string, string | undefined>): Config {
  const parsed = EnvSchema.safeParse(clean(env));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `- ${String(i.path[0] ?? 'environment')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.CHALLENGES_DB_URL && e.CHALLENGE_DB_URL && e.CHALLENGES_DB_URL !== e.CHALLENGE_DB_URL) {
    throw new ConfigError('Invalid configuration:\n- CHALLENGES_DB_URL and CHALLENGE_DB_URL are both set and differ: set only one of them');
  }
  if (e.AUTH_JWKS_URL && !e.AUTH_ISSUER) {
    throw new ConfigError(
      'Invalid configuration:\n- AUTH_ISSUER is required when AUTH_JWKS_URL is set: set it to the issuer\'s "iss" value, e.g. https://auth.example.com/',
    );
  }
  const databaseUrl = e.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  return {
    databaseDefaulted: e.DATABASE_URL === undefined,
    databaseUrl,
    challengesDbUrl: e.CHALLENGES_DB_URL ?? e.CHALLENGE_DB_URL ?? databaseUrl,
    reviewDbUrl: e.REVIEW_DB_URL ?? databaseUrl,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      cliPath: e.TEMPORAL_CLI_PATH,
      port: e.TEMPORAL_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
      taskQueue: e.TASK_QUEUE,
      sdkLogLevel: e.TEMPORAL_SDK_LOG_LEVEL,
    },
    statsReadSource: e.STATS_READ_SOURCE,
    apiUrl: e.API_URL,
    apiPort: e.API_PORT,
    ratingMissingMetadata: e.RATING_MISSING_METADATA,
    dataDir: e.CUTOVER_DATA_DIR,
    auth: {
      jwksUrl: e.AUTH_JWKS_URL,
      issuer: e.AUTH_ISSUER ?? LOCAL_ISSUER,
      audience: e.AUTH_AUDIENCE,
      adminRoles: e.AUTH_ADMIN_ROLES,
      rolesClaim: e.AUTH_ROLES_CLAIM,
    },
    refresh: { waitMs: e.REFRESH_WAIT_MS, reconcileEveryMinutes: e.RECONCILE_EVERY_MINUTES },
    logLevel: e.LOG_LEVEL,
  };
}
