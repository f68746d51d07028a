import type { FastifyPluginAsync } from 'fastify';
import { sql, type Kysely } from 'kysely';
import type { ReadSourceReader } from '../../store/read-source';
import { Health, jsonSchema } from '../schemas';

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
