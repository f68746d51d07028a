import { resolveTrack, resolveType, unknownTrackMessage, unknownTypeMessage } from '../../domain/catalog';
import type { BackfillOptions } from '../../domain/backfill';
import type { Stack } from '../../lib/stack';
import { loadCatalog } from '../../store/catalog';
import { existingMembers } from '../../store/members/find';
import { memberExists } from '../../store/parity/scope';
import { UsageError } from '../cli-support';

/**
 * What the operator named exists: checked before any workflow starts, so a typo exits 2 having started and written
 * nothing (the workflows check again: they can be started without the CLI).
 */
export async function checkBackfillTargets(stack: Stack, o: BackfillOptions): Promise<void> {
  if (o.track !== undefined || o.type !== undefined) {
    const cat = await loadCatalog(stack.dbs.challenges);
    if (o.track !== undefined && !resolveTrack(cat, o.track)) throw new UsageError(unknownTrackMessage(cat, o.track));
    if (o.type !== undefined && !resolveType(cat, o.type)) throw new UsageError(unknownTypeMessage(cat, o.type));
  }
  // some unknown ids are skipped and reported (the runbook's behaviour); none known is a mistake, not a run
  if (o.userIds && (await existingMembers(stack.dbs.members, o.userIds)).length === 0) {
    const shown = o.userIds.slice(0, 5).join(', ') + (o.userIds.length > 5 ? ', …' : '');
    throw new UsageError(`--user-id/--user-ids: no member has id ${shown} (members."member"); check the ids`);
  }
}

export async function checkParityMember(stack: Stack, userId: number | undefined): Promise<void> {
  if (userId !== undefined && !(await memberExists(stack.dbs.members, userId)))
    throw new UsageError(
      `--user-id ${userId}: no such member in members."member" (the backfill skips such ids, so there is nothing to compare)`,
    );
}
