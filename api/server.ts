import { loadCatalog } from '../activities/sql/backfill';
import { useCatalog } from './shape';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifySchemaCompiler } from 'fastify';
import { sql, type Kysely } from 'kysely';
import type { z } from 'zod';
import type { Databases } from '../lib/db';
import type { ReadSourceReader } from '../lib/read-source';
import { legacyHistory, legacyTracks } from './legacy';
import { LegacyReadCounter } from './legacy-reads';
import { ApiError, HandleParams, Health, jsonSchema, MemberHistory, MemberStats, StatsQuery } from './schemas';
import { maxRatingOf } from './shape';
import { unifiedHistory, unifiedTracks } from './unified';

export interface ApiOptions {
  dbs: Pick<Databases, 'members'> & Partial<Pick<Databases, 'challenges'>>;
  readSource: ReadSourceReader;
  /** fastify's pino logger: false (tests) or a level */
  logLevel?: false | string;
  /** how often legacy read counts are written (ms) */
  legacyReadFlushMs?: number;
}

type Part = 'params' | 'querystring';

/** Route-level validator: request parts are checked with the zod schemas the route's JSON Schemas came from. */
function zodValidator(parts: Partial<Record<Part, z.ZodType>>): FastifySchemaCompiler<unknown> {
  return ({ httpPart }) => {
    const schema = parts[httpPart as Part];
    if (!schema) return (data) => ({ value: data });
    return (data) => {
      const r = schema.safeParse(data);
      if (r.success) return { value: r.data };
      const reason = r.error.issues.map((i) => `${[httpPart, ...i.path.map(String)].join('.')}: ${i.message}`).join('; ');
      return { error: Object.assign(new Error(reason), { statusCode: 400 }) };
    };
  };
}

const errors = { 400: jsonSchema(ApiError), 404: jsonSchema(ApiError), 500: jsonSchema(ApiError) };
const memberRoute = (summary: string, response: z.ZodType) => ({
  schema: {
    summary,
    params: jsonSchema(HandleParams, 'input'),
    querystring: jsonSchema(StatsQuery, 'input'),
    response: { 200: jsonSchema(response), ...errors },
  },
  validatorCompiler: zodValidator({ params: HandleParams, querystring: StatsQuery }),
});

async function findMember(db: Kysely<any>, handle: string) {
  const r = await sql<{ userId: number; handle: string; handleLower: string }>`
    SELECT "userId", handle, "handleLower" FROM members."member"
    WHERE "handleLower" = ${handle.toLowerCase()} ORDER BY "userId" LIMIT 1`.execute(db);
  return r.rows[0];
}

async function reachable(db: Kysely<any>, timeoutMs = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
  });
  try {
    await Promise.race([sql`SELECT 1`.execute(db), timeout]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The member stats read API. Each request reads the (cached) read source once and answers wholly from that source;
 * the response says which (`readSource`). Legacy-served requests are counted.
 */
export async function buildApi(opts: ApiOptions): Promise<FastifyInstance> {
  const db = opts.dbs.members;
  // logs to stderr: stdout belongs to the commands' own output (URLs, --json)
  const app = Fastify({ logger: opts.logLevel ? { level: opts.logLevel, stream: process.stderr } : false });
  // the challenges database's own catalogue ids; without it (unreachable, not deployed) the shipped ids serve
  if (opts.dbs.challenges) {
    await loadCatalog(opts.dbs.challenges).then(useCatalog, (e: Error) => app.log.warn(`challenge catalogue not loaded (${e.message}); using the built-in ids`));
  }
  const counter = new LegacyReadCounter(db, (e) => app.log.error({ err: e }, 'legacy read count not written'), opts.legacyReadFlushMs);
  // shutdown must not fail over lost counts: they are logged instead
  app.addHook('onClose', async () => counter.close().catch((e: Error) => app.log.error({ err: e }, 'final legacy read counts not written')));

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'cutover member stats API',
        version: '1',
        description: 'Member statistics from the legacy or the unified tables, per the current read source; one response shape for both.',
      },
    },
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(400).send({ error: 'bad_request', message: err.message });
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error' });
  });

  app.get('/members/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get(
    '/members/health',
    { schema: { summary: 'liveness and database reachability', response: { 200: jsonSchema(Health), 503: jsonSchema(Health) } } },
    async (_req, reply) => {
      const ok = await reachable(db);
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', readSource: opts.readSource.current(), db: ok ? 'ok' : 'unreachable' });
    },
  );

  type MemberRequest = { Params: z.infer<typeof HandleParams>; Querystring: z.infer<typeof StatsQuery> };
  const notFound = (handle: string) => ({ error: 'not_found' as const, message: `no member with handle "${handle}"` });

  app.get<MemberRequest>('/members/:handle/stats', memberRoute('member statistics per track and type', MemberStats), async (req, reply) => {
    const readSource = opts.readSource.current();
    const member = await findMember(db, req.params.handle);
    if (!member) return reply.code(404).send(notFound(req.params.handle));
    let body: z.infer<typeof MemberStats>;
    if (readSource === 'legacy') {
      counter.increment(req.routeOptions.url ?? '/members/:handle/stats');
      const tracks = await legacyTracks(db, member.userId);
      body = { ...member, readSource, tracks, maxRating: maxRatingOf(tracks) };
    } else {
      body = { ...member, readSource, ...(await unifiedTracks(db, member.userId)) };
    }
    // maxRating stays member-wide under a track filter, as memberMaxRating is
    if (req.query.track) body.tracks = body.tracks.filter((t) => t.track === req.query.track);
    return body;
  });

  app.get<MemberRequest>('/members/:handle/stats/history', memberRoute('rating history, chronological', MemberHistory), async (req, reply) => {
    const readSource = opts.readSource.current();
    const member = await findMember(db, req.params.handle);
    if (!member) return reply.code(404).send(notFound(req.params.handle));
    if (readSource === 'legacy') counter.increment(req.routeOptions.url ?? '/members/:handle/stats/history');
    const all = readSource === 'legacy' ? await legacyHistory(db, member.userId) : await unifiedHistory(db, member.userId);
    const history = req.query.track ? all.filter((h) => h.track === req.query.track) : all;
    return { userId: member.userId, handle: member.handle, readSource, history };
  });

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
