import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import type { CatalogNames } from '../domain/catalog';
import { HistoryEntry, TrackStats } from '../domain/member-stats';
import type { ParityGate } from '../domain/parity';
import type { SwitchInput, SwitchResult } from '../domain/read-source';
import { legacyHistory } from './members/legacy';
import { unifiedHistory, unifiedTracks } from './members/unified';
import { currentParityGate } from './parity/gate';
import { switchReadSource } from './read-source';

/**
 * Phase C: reads go to unified only behind the parity gate, and are verified right after the flip for known
 * members; a failed verification rolls back to legacy at once. Rollback to legacy is never gated.
 */

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
  const known = await sql<{ userId: number }>`
    SELECT s."userId" FROM members."memberStats" s JOIN members."member" m ON m."userId" = s."userId"
    WHERE s.rating IS NOT NULL GROUP BY s."userId" ORDER BY count(*) DESC, s."userId" LIMIT ${n}`.execute(db);
  const userIds = known.rows.map((r) => r.userId);
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
    throw new GateClosedError(
      `the parity gate does not hold (${gate.reason}): run \`npm run cutover -- parity --full\` (or two sampled runs on different seeds) on the current data, or pass --force to switch anyway (recorded in the audit)`,
    );
  }
  const switched = await switchReadSource(db, input, gate.passed ? {} : { note: `[forced past the parity gate: ${gate.reason}]` });
  const verification = await verifyUnifiedReads(db, names);
  if (verification.ok) return { switched, gate, verification };
  const rolledBack = await switchReadSource(db, {
    to: 'legacy',
    actor: input.actor,
    reason: `automatic rollback: unified reads failed verification (${verification.problems.slice(0, 3).join('; ')})`,
  });
  return { switched, gate, verification, rolledBack };
}
