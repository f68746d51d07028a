import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsFrom, rerateStream, STREAM_KEY, type Stream } from '../domain/rerate';
import { keyIds, loadCatalog } from '../store/catalog';
import { loadStream } from '../store/rerate/stream';
import { finalizeRerate, writeRerateRows } from '../store/rerate/write';
import { clearUnified, runTestBackfill } from './support/backfill';
import { seededStack } from './support/stack';

/** Phase D's data layer end to end on a backfilled tiny seed (the workflow around it comes next). */
describe('rerate: stream replay written to the unified tables', () => {
  let env: Awaited<ReturnType<typeof seededStack>>;
  beforeAll(async () => {
    env = await seededStack('rerate_store', { size: 'tiny', seed: 13 });
    await runTestBackfill(env.stack.client!, env.taskQueue, {});
  });
  afterAll(async () => {
    await env?.close();
  });
  const db = () => env.stack.dbs.members;

  async function rerate(stream: Stream, from?: string) {
    const cat = await loadCatalog(env.stack.dbs.challenges);
    const s = await loadStream(env.stack.dbs, cat, stream, 'rated');
    const tail = eventsFrom(s.events, from)!;
    const r = rerateStream(tail, s.stored, s.rowless);
    const written = await db()
      .transaction()
      .execute((tx) => writeRerateRows(tx, cat, stream, r.rows, s.challenges));
    const fin = await finalizeRerate(db(), cat, stream, [...r.states.keys()].map(Number));
    return { written, ...fin, rows: r.rows.length, events: s.events, tail };
  }

  /** The stream's history rows (content only), optionally only those placed before a challenge's end. */
  async function historyDigest(k: Kysely<any>, stream: Stream, before?: Date): Promise<string> {
    const cat = await loadCatalog(env.stack.dbs.challenges);
    const [trackId, typeId] = keyIds(cat, STREAM_KEY[stream]);
    const r = await sql<{ d: string }>`
      SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) AS d FROM (
        SELECT "userId", "challengeId", "oldRating", "newRating", "oldVolatility", "newVolatility", placement, percentile, "mostRecent"
        FROM members."memberStatsHistory"
        WHERE "trackId" = ${trackId}::uuid AND "typeId" = ${typeId}::uuid AND (${before ?? null}::timestamptz IS NULL OR "eventDate" < ${before ?? null}::timestamptz)) t`.execute(
      k,
    );
    return r.rows[0]!.d;
  }

  for (const stream of ['develop', 'marathon'] as const) {
    it(`${stream}: a rerate from a middle challenge leaves every row before it as it was; a second run writes nothing`, async () => {
      const { events } = await rerate(stream, undefined).then(async (first) => {
        // back to the backfilled state for this test's own starting point
        await clearUnified(db());
        await runTestBackfill(env.stack.client!, env.taskQueue, { restart: true });
        return first;
      });
      expect(events.length).toBeGreaterThan(4);
      const middle = eventsFrom(events, undefined)![Math.floor(events.length / 2)]!;
      const beforeDigest = await historyDigest(db(), stream, middle.endDate);
      const first = await rerate(stream, middle.challengeId);
      expect(first.written).toBeGreaterThan(0);
      expect(await historyDigest(db(), stream, middle.endDate)).toBe(beforeDigest);
      const again = await rerate(stream, middle.challengeId);
      expect({ written: again.written, statsChanged: again.statsChanged }).toEqual({ written: 0, statsChanged: 0 });
    });

    it(`${stream}: after a full rerate, a rerate from any later challenge changes nothing; rewritten rows are signed`, async () => {
      await rerate(stream);
      const full = await historyDigest(db(), stream);
      const ordered = eventsFrom((await rerate(stream)).events, undefined)!;
      for (const at of [0.25, 0.6, 0.95]) {
        const x = ordered[Math.floor(ordered.length * at)]!;
        const r = await rerate(stream, x.challengeId);
        expect({ from: x.challengeId, written: r.written, statsChanged: r.statsChanged }).toEqual({
          from: x.challengeId,
          written: 0,
          statsChanged: 0,
        });
      }
      expect(await historyDigest(db(), stream)).toBe(full);
      const by = stream === 'develop' ? 'rerate-member-stats' : 'rerate-mm-stats';
      const signed = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM members."memberStatsHistory" WHERE "updatedBy" = ${by} OR "createdBy" = ${by}`.execute(db());
      expect(signed.rows[0]!.n).toBeGreaterThan(0);
    });
  }
});
