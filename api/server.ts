import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { setMaxListeners } from 'node:events';
import { BUILTIN_CATALOG, catalogNames, type CatalogNames } from '../domain/catalog';
import { API_LIMITS, type ApiLimits } from '../domain/limits';
import { loadCatalog, loadCatalogNames } from '../store/catalog';
import type { Databases } from '../store/db';
import { LegacyReadCounter } from '../store/legacy-reads';
import type { ReadSourceReader } from '../store/read-source';
import type { AuthVerifier } from './auth';
import { clientErrorHandler } from './client-errors';
import { frameworkErrors, installErrorHandling } from './errors';
import { recordReadLatency, type LatencyOptions } from './latency';
import { installRouteTable } from './route-table';
import { dashboardRoutes } from './dashboard/routes';
import { metricsRoutes } from './metrics';
import type { StatusSources } from './status';
import { healthRoutes } from './routes/health';
import { memberStatsRoutes } from './routes/member-stats';
import { refreshRoutes, type RefreshRouteOptions } from './routes/refresh';

export interface ApiOptions {
  dbs: Pick<Databases, 'members'> & Partial<Pick<Databases, 'challenges'>>;
  readSource: ReadSourceReader;
  /** fastify's pino logger: false (tests) or a level */
  logLevel?: false | string;
  /** how often legacy read counts are written (ms) */
  legacyReadFlushMs?: number;
  /** request timeouts and size bounds: domain/limits.ts API_LIMITS unless set */
  limits?: Partial<ApiLimits>;
  /** publishing the read latency long phases throttle on (default on; false: not published) */
  readLatency?: LatencyOptions | false;
  /** verifies bearer tokens for the write routes (api/auth.ts requireScope); without it they answer 503 */
  auth?: AuthVerifier;
  /** the write routes' Temporal (refresh, rerate); without it they answer 503 */
  temporal?: RefreshRouteOptions['temporal'];
  /** the dashboard (GET /dashboard) and its actions: what it reads status from; without it there is no dashboard */
  dashboard?: StatusSources;
  /** the Temporal SDK's Prometheus exporter of this process's worker, relayed at /metrics */
  workerMetricsUrl?: string;
}

/** The member stats API: bounds, error handling, OpenAPI, then each group of routes as a plugin. */
export async function buildApi(opts: ApiOptions): Promise<FastifyInstance> {
  const db = opts.dbs.members;
  const limits: ApiLimits = { ...API_LIMITS, ...opts.limits };
  const app = Fastify({
    // logs to stderr: stdout belongs to the commands' own output (URLs, --json)
    // a bearer token is a credential: whatever logs headers gets it censored (fastify's own request log has none)
    logger: opts.logLevel
      ? { level: opts.logLevel, stream: process.stderr, redact: ['headers.authorization', '*.headers.authorization'] }
      : false,
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.connectionTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    bodyLimit: limits.bodyLimitBytes,
    routerOptions: { maxParamLength: limits.maxParamLength },
    // what fastify has no option for: Node's header timeout, how often both timeouts are checked, the header size
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: limits.timeoutCheckMs,
      maxHeaderSize: limits.maxHeaderBytes,
    },
    clientErrorHandler,
    frameworkErrors,
  });
  installRouteTable(app);
  // ends the Temporal calls of requests still running when the API closes (api/temporal-calls.ts)
  const closing = new AbortController();
  // each request in flight links to it for a while (api/temporal-calls.ts): many at once are not a leak
  setMaxListeners(0, closing.signal);
  app.addHook('preClose', async () => closing.abort());
  // the challenges database's own catalogue ids; without it (unreachable, not deployed) the shipped ids serve
  let names: CatalogNames = catalogNames(BUILTIN_CATALOG);
  if (opts.dbs.challenges) {
    names = await loadCatalogNames(opts.dbs.challenges).catch((e: Error) => {
      app.log.warn(`challenge catalogue not loaded (${e.message}); using the built-in ids`);
      return names;
    });
  }
  const counter = new LegacyReadCounter(db, (e) => app.log.error({ err: e }, 'legacy read count not written'), opts.legacyReadFlushMs);
  // shutdown must not fail over lost counts: they are logged instead
  app.addHook('onClose', async () =>
    counter.close().catch((e: Error) => app.log.error({ err: e }, 'final legacy read counts not written')),
  );

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'cutover member stats API',
        version: '1',
        description:
          'Member statistics from the legacy or the unified tables, per the current read source; one response shape for both. Reads are public; refresh and rerate take a bearer JWT with the refresh:member_stats or rerate:member_stats scope.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  });
  installErrorHandling(app);
  if (opts.readLatency !== false) recordReadLatency(app, db, opts.readLatency);

  app.get('/members/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(healthRoutes, { db, readSource: opts.readSource });
  await app.register(memberStatsRoutes, { db, readSource: opts.readSource, names, counter });
  const catalog = opts.dbs.challenges ? await loadCatalog(opts.dbs.challenges).catch(() => BUILTIN_CATALOG) : BUILTIN_CATALOG;
  await app.register(refreshRoutes, {
    members: db,
    challenges: opts.dbs.challenges,
    catalog,
    auth: opts.auth,
    temporal: opts.temporal,
    closing: closing.signal,
  });
  await app.register(metricsRoutes({ dbs: opts.dbs, readSource: opts.readSource, workerMetricsUrl: opts.workerMetricsUrl }));
  if (opts.dashboard) await app.register(dashboardRoutes({ sources: opts.dashboard, auth: opts.auth, closing: closing.signal }));
  return app;
}

export interface RunningApi {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/** buildApi + listen. port 0 → an ephemeral port (tests); the URL says which. */
export async function startApi(opts: ApiOptions & { port: number; host?: string }): Promise<RunningApi> {
  const app = await buildApi(opts);
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ port: opts.port, host });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return { app, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, close: () => app.close() };
}
