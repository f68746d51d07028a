import type { FastifyPluginAsync } from 'fastify';
import type { Kysely } from 'kysely';
import { reachable } from '../../store/ping';
import type { ReadSourceReader } from '../../store/read-source';
import { Health, jsonSchema } from '../schemas';

export interface HealthRouteOptions {
  db: Kysely<any>;
  readSource: ReadSourceReader;
}

/** GET /members/health: liveness and database reachability (503 while the database is away). */
export const healthRoutes: FastifyPluginAsync<HealthRouteOptions> = async (app, { db, readSource }) => {
  app.get(
    '/members/health',
    { schema: { summary: 'liveness and database reachability', response: { 200: jsonSchema(Health), 503: jsonSchema(Health) } } },
    async (_req, reply) => {
      const ok = await reachable(db);
      return reply
        .code(ok ? 200 : 503)
        .send({ status: ok ? 'ok' : 'unavailable', readSource: readSource.current(), db: ok ? 'ok' : 'unreachable' });
    },
  );
};
