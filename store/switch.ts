import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import type { CatalogNames } from '../domain/catalog';
import { HistoryEntry, maxRatingOf, TrackStats, type MemberHistory, type MemberStats } from '../domain/member-stats';
import type { ParityGate } from '../domain/parity';
import type { ReadSource, SwitchInput, SwitchResult } from '../domain/read-source';
import { forcedNote, gateClosedMessage, rollbackReason, type MostRecentProblem } from '../domain/switch';
import { findMember } from './members/find';
import { legacyHistory, legacyTracks } from './members/legacy';
import { unifiedHistory, unifiedTracks } from './members/unified';
import { currentParityGate } from './parity/gate';
import { switchReadSource } from './read-source';

/**
 * Phase C: reads go to unified only behind the parity gate, and are verified right after the flip for known
 * members; a failed verification rolls back to legacy at once. Rollback to legacy is never gated.
 *
 * `npm run cutover -- switch --to unified` runs the switchReads workflow (workflows/switch), whose activities use the
 * pieces below (known members, the store read path, mostRecent); switchWithGate is the same phase in one call
 * without Temporal.
 */

/** The best-covered rated members with unified stats (most unified rows first), with their handles. */
export async function knownRatedMembers(db: Kysely<any>, n: number): Promise<Array<{ userId: number; handle: string }>> {
  const limit = z.number().int().min(1).max(100).parse(n);
  const r = await sql<{ userId: string | number; handle: string }>`
    SELECT s."userId", min(m.handle) AS handle
    FROM members."memberStats" s JOIN members."member" m ON m."userId" = s."userId"
    WHERE s.rating IS NOT NULL GROUP BY s."userId" ORDER BY count(*) DESC, s."userId" LIMIT ${limit}`.execute(db);
  return r.rows.map((x) => ({ userId: Number(x.userId), handle: x.handle }));
}

/**
 * A member's two read responses as the API's routes build them (api/routes/member-stats.ts, same store
 * functions), from the given source; undefined when no member has the handle (the API's 404).
 */
export async function memberReads(
  db: Kysely<any>,
  names: CatalogNames,
  handle: string,
  source: ReadSource,
): Promise<{ stats: MemberStats; history: MemberHistory } | undefined> {
  const m = await findMember(db, handle);
  if (!m) return undefined;
  if (source === 'legacy') {
    const [tracks, history] = await Promise.all([legacyTracks(db, m.userId), legacyHistory(db, m.userId)]);
    return {
      stats: { ...m, readSource: source, tracks, maxRating: maxRatingOf(tracks, names) },
      history: { userId: m.userId, handle: m.handle, readSource: source, history },
    };
  }
  const [u, history] = await Promise.all([unifiedTracks(db, names, m.userId), unifiedHistory(db, names, m.userId)]);
  return {
    stats: { ...m, readSource: source, ...u },
    history: { userId: m.userId, handle: m.handle, readSource: source, history },
  };
}

/**
 * The unified history groups of these members that break the mostRecent rule: exactly one mostRecent row per
 * (user, track, type), carrying the group's latest eventDate.
 */
export async function mostRecentProblems(db: Kysely<any>, names: CatalogNames, userIds: number[]): Promise<MostRecentProblem[]> {
  if (userIds.length === 0) return [];
  const r = await sql<{
    userId: string | number;
    trackId: string;
    typeId: string;
    flagged: number;
    latest: Date | null;
    flaggedDate: Date | null;
  }>`
    SELECT "userId", "trackId"::text AS "trackId", "typeId"::text AS "typeId",
           (count(*) FILTER (WHERE "mostRecent"))::int AS flagged, max("eventDate") AS latest,
           max("eventDate") FILTER (WHERE "mostRecent") AS "flaggedDate"
    FROM members."memberStatsHistory" WHERE "userId" = ANY(${userIds}::bigint[])
    GROUP BY 1, 2, 3
    HAVING count(*) FILTER (WHERE "mostRecent") <> 1
        OR max("eventDate") FILTER (WHERE "mostRecent") IS DISTINCT FROM max("eventDate")
    ORDER BY 1, 2, 3`.execute(db);
  return r.rows.map((x) => ({
    userId: Number(x.userId),
    track: names.trackName(x.trackId),
    type: names.typeName(x.typeId),
    flagged: x.flagged,
    latest: x.latest?.toISOString() ?? null,
    flaggedDate: x.flagged === 1 ? (x.flaggedDate?.toISOString() ?? null) : null,
  }));
}

export interface ReadVerification {
  ok: boolean;
  userIds: number[];
  problems: string[];
}

/**
 * The unified read path answers for the best-covered rated members: stats and history in the documented shape,
 * and no fewer history entries than the legacy path serves them.
 */
export async function verifyUnifiedReads(db: Kysely<any>, names: CatalogNames, n = 5): Promise<ReadVerification> {
  const userIds = (await knownRatedMembers(db, n)).map((m) => m.userId);
  const problems: string[] = [];
  if (userIds.length === 0) problems.push('no rated member has unified stats: backfill first');
  for (const userId of userIds) {
    const { tracks } = await unifiedTracks(db, names, userId);
    const history = await unifiedHistory(db, names, userId);
    if (tracks.length === 0) problems.push(`member ${userId}: no stats from the unified tables`);
    if (!z.array(TrackStats).safeParse(tracks).success) problems.push(`member ${userId}: stats not in the documented shape`);
    if (!z.array(HistoryEntry).safeParse(history).success) problems.push(`member ${userId}: history not in the documented shape`);
    const legacy = await legacyHistory(db, userId);
    if (history.length < legacy.length)
      problems.push(`member ${userId}: ${history.length} history entries from unified, ${legacy.length} from legacy`);
  }
  return { ok: problems.length === 0, userIds, problems };
}

export class GateClosedError extends Error {
  override name = 'GateClosedError';
}

export interface GuardedSwitch {
  switched: SwitchResult;
  gate?: ParityGate;
  verification?: ReadVerification;
  rolledBack?: SwitchResult;
}

export async function switchWithGate(
  db: Kysely<any>,
  names: CatalogNames,
  input: SwitchInput & { force?: boolean },
): Promise<GuardedSwitch> {
  if (input.to === 'legacy') return { switched: await switchReadSource(db, input) };
  const gate = await currentParityGate(db);
  if (!gate.passed && !input.force) {
    throw new GateClosedError(gateClosedMessage(gate.reason));
  }
  const switched = await switchReadSource(db, input, gate.passed ? {} : { note: forcedNote(gate.reason) });
  const verification = await verifyUnifiedReads(db, names);
  if (verification.ok) return { switched, gate, verification };
  const rolledBack = await switchReadSource(db, {
    to: 'legacy',
    actor: input.actor,
    reason: rollbackReason(verification.problems),
  });
  return { switched, gate, verification, rolledBack };
}
