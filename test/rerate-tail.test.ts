import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsFrom, rerateStream, STREAM_KEY, type Stream } from '../domain/rerate';
import type { RatedEvent } from '../domain/rating/replay';
import { keyIds, loadCatalog } from '../store/catalog';
import { loadStream, loadStreamFrom, loadStreamFromEvent, streamEventsAmong, streamTail } from '../store/rerate/stream';
import { runTestBackfill } from './support/backfill';
import { seededStack } from './support/stack';

/**
 * A refresh rates from the first requested end on reading only that part of the stream (loadStreamFrom): the events
 * from there and their participants' rows. The reference is the whole stream (loadStream, whose mapping
 * test/rerate-correctness checks against hand-built rounds): replayed from the same event, both must give the same
 * rows and states. The small seed's members hold legacy numeric rows, UUID rows of the same rounds and Marathon
 * Match rows named only by round, so a tail that mapped rows differently, or missed the events older rows name,
 * seeds other states and fails here.
 */
describe('rerate: the tail of a stream replays as the whole stream does', () => {
  let env: Awaited<ReturnType<typeof seededStack>>;
  beforeAll(async () => {
    env = await seededStack('rerate_tail', { size: 'small', seed: 7 });
    await runTestBackfill(env.stack.client!, env.taskQueue, {});
  }, 240_000);
  afterAll(async () => {
    await env?.close();
  });

  const sorted = <T>(xs: T[]) => xs.map((x) => JSON.stringify(x)).sort();

  async function compare(stream: Stream, from: RatedEvent, whole: Awaited<ReturnType<typeof loadStream>>) {
    const cat = await loadCatalog(env.stack.dbs.challenges);
    // the sequencer's refresh (from an end date) and a rerate from an event (from its id) read the same part
    const part = await loadStreamFrom(env.stack.dbs, cat, stream, 'rated', from.endDate);
    expect(await loadStreamFromEvent(env.stack.dbs, cat, stream, 'rated', from.challengeId)).toEqual(part);
    const wholeTail = eventsFrom(whole.events, from.challengeId)!;
    const partTail = eventsFrom(part.events, from.challengeId)!;
    expect(partTail.map((e) => e.challengeId)).toEqual(wholeTail.map((e) => e.challengeId));
    // what a rerate from the event records as rated
    expect(await streamTail(env.stack.dbs, cat, stream, 'rated', from.challengeId)).toEqual(wholeTail);
    const a = rerateStream(wholeTail, whole.stored, whole.rowless);
    const b = rerateStream(partTail, part.stored, part.rowless);
    expect(b.rows.length).toBe(a.rows.length);
    expect(sorted(b.rows)).toEqual(sorted(a.rows));
    expect(sorted([...b.states])).toEqual(sorted([...a.states]));
    // it read a part: only the tail's participants' rows
    const participants = new Set(partTail.flatMap((e) => e.participants.map((p) => p.userId)));
    expect(part.stored.every((r) => participants.has(r.userId))).toBe(true);
    return { rows: a.rows.length, seeded: a.rows.filter((r) => r.oldRating !== null).length };
  }

  for (const stream of ['develop', 'marathon'] as const) {
    it(`${stream}: from the last events, from a middle one and from the first`, async () => {
      const cat = await loadCatalog(env.stack.dbs.challenges);
      const [trackId, typeId] = keyIds(cat, STREAM_KEY[stream]);
      const before = await loadStream(env.stack.dbs, cat, stream, 'rated');
      // the data can catch a wrong mapping: the last events' participants also get a UUID row beside each of their
      // legacy numeric rows (as a refresh beside a legacy row, before dedupe), which must count once
      const recent = eventsFrom(before.events, undefined)!.slice(-5);
      const dup = await sql`
        INSERT INTO members."memberStatsHistory" ("userId", "trackId", "typeId", "challengeId", "challengeName", "newRating", "newVolatility", "eventDate", "createdBy")
        SELECT h."userId", h."trackId", h."typeId", c.id::text, h."challengeName", h."newRating", h."newVolatility", h."eventDate", 'test:duplicate'
        FROM members."memberStatsHistory" h JOIN challenges."Challenge" c ON c."legacyId"::text = h."challengeId"
        WHERE h."trackId" = ${trackId}::uuid AND h."typeId" = ${typeId}::uuid AND h."newRating" IS NOT NULL
          AND c.id = ANY(${[...before.challenges.keys()]}::uuid[])
          AND h."userId" = ANY(${recent.flatMap((e) => e.participants.map((p) => Number(p.userId)))}::bigint[])
        ON CONFLICT DO NOTHING`.execute(env.stack.dbs.members);
      expect(Number(dup.numAffectedRows)).toBeGreaterThan(0);
      const whole = await loadStream(env.stack.dbs, cat, stream, 'rated');
      const ordered = eventsFrom(whole.events, undefined)!;
      expect(ordered.length).toBeGreaterThan(20);
      let seeded = 0;
      for (const i of [ordered.length - 1, ordered.length - 3, Math.floor(ordered.length * 0.9), Math.floor(ordered.length / 2), 0]) {
        seeded += (await compare(stream, ordered[i]!, whole)).seeded;
      }
      // rows whose member came with a state from before the tail: the seeding was exercised
      expect(seeded).toBeGreaterThan(0);
    });
  }

  it('the requested ends: the stream events among them, others not', async () => {
    const cat = await loadCatalog(env.stack.dbs.challenges);
    const dev = eventsFrom((await loadStream(env.stack.dbs, cat, 'develop', 'rated')).events, undefined)!;
    const mm = eventsFrom((await loadStream(env.stack.dbs, cat, 'marathon', 'rated')).events, undefined)!;
    const ids = [dev.at(-1)!.challengeId, dev[3]!.challengeId, mm.at(-1)!.challengeId, 'not-a-challenge', '12345'];
    const devAmong = await streamEventsAmong(env.stack.dbs, cat, 'develop', 'rated', ids);
    expect(devAmong.map((e) => e.challengeId).sort()).toEqual([dev.at(-1)!.challengeId, dev[3]!.challengeId].sort());
    expect(devAmong.find((e) => e.challengeId === dev[3]!.challengeId)).toEqual(dev[3]);
    const mmAmong = await streamEventsAmong(env.stack.dbs, cat, 'marathon', 'rated', ids);
    expect(mmAmong.map((e) => e.challengeId)).toEqual([mm.at(-1)!.challengeId]);
  });
});
