import type { FastifyPluginAsync } from 'fastify';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { CatalogNames } from '../../domain/catalog';
import { maxRatingOf, MemberHistory, MemberStats } from '../../domain/member-stats';
import type { LegacyReadCounter } from '../../store/legacy-reads';
import { findMember } from '../../store/members/find';
import { legacyHistory, legacyTracks } from '../../store/members/legacy';
import { unifiedHistory, unifiedTracks } from '../../store/members/unified';
import type { ReadSourceReader } from '../../store/read-source';
import { HttpError } from '../errors';
import { ApiError, HandleParams, jsonSchema, StatsQuery } from '../schemas';
import { zodValidator } from '../validation';

export interface MemberStatsRouteOptions {
  db: Kysely<any>;
  readSource: ReadSourceReader;
  /** the challenges catalogue's names for unified rows' ids */
  names: CatalogNames;
  counter: LegacyReadCounter;
}

const errors = { 400: jsonSchema(ApiError), 404: jsonSchema(ApiError), 500: jsonSchema(ApiError), 503: jsonSchema(ApiError) };
const memberRoute = (summary: string, response: z.ZodType) => ({
  schema: {
    summary,
    params: jsonSchema(HandleParams, 'input'),
    querystring: jsonSchema(StatsQuery, 'input'),
    response: { 200: jsonSchema(response), ...errors },
  },
  validatorCompiler: zodValidator({ params: HandleParams, querystring: StatsQuery }),
});

type MemberRequest = { Params: z.infer<typeof HandleParams>; Querystring: z.infer<typeof StatsQuery> };

/**
 * The member stats reads. Each request reads the (cached) read source once and answers wholly from that source;
 * the response says which (`readSource`). Legacy-served requests are counted.
 */
export const memberStatsRoutes: FastifyPluginAsync<MemberStatsRouteOptions> = async (app, { db, readSource, names, counter }) => {
  const member = async (handle: string) => {
    const m = await findMember(db, handle);
    if (!m) throw new HttpError(404, `no member with handle "${handle}"`);
    return m;
  };

  app.get<MemberRequest>('/members/:handle/stats', memberRoute('member statistics per track and type', MemberStats), async (req) => {
    const source = readSource.current();
    const m = await member(req.params.handle);
    let body: MemberStats;
    if (source === 'legacy') {
      counter.increment(req.routeOptions.url ?? '/members/:handle/stats');
      const tracks = await legacyTracks(db, m.userId);
      body = { ...m, readSource: source, tracks, maxRating: maxRatingOf(tracks, names) };
    } else {
      body = { ...m, readSource: source, ...(await unifiedTracks(db, names, m.userId)) };
    }
    // maxRating stays member-wide under a track filter, as memberMaxRating is
    if (req.query.track) body.tracks = body.tracks.filter((t) => t.track === req.query.track);
    return body;
  });

  app.get<MemberRequest>(
    '/members/:handle/stats/history',
    memberRoute('rating history, chronological', MemberHistory),
    async (req): Promise<MemberHistory> => {
      const source = readSource.current();
      const m = await member(req.params.handle);
      if (source === 'legacy') counter.increment(req.routeOptions.url ?? '/members/:handle/stats/history');
      const all = source === 'legacy' ? await legacyHistory(db, m.userId) : await unifiedHistory(db, names, m.userId);
      const history = req.query.track ? all.filter((h) => h.track === req.query.track) : all;
      return { userId: m.userId, handle: m.handle, readSource: source, history };
    },
  );
};
