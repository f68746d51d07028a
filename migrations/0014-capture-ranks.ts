import type { Kysely, Migration } from 'kysely';
import { captureFunction } from './0012-changed-members';

/**
 * Change capture (0012) leaves out a whole re-ranking of the partitions whose ranks we compute (store/derived.ts
 * refreshRanks marks its statement with the transaction-local setting cutover.capture = 'ranks-only'). Parity holds
 * those ranks to completeness only, and a rated row without a rank got there by a write that was captured, so its
 * member is re-checked anyway. Captured, each re-rank under live traffic marked every member whose rank shifted:
 * parity's re-check after a large backfill covered 10,000 members and ran as a full comparison.
 */
export const captureRanks: Migration = {
  async up(db: Kysely<any>) {
    await captureFunction({ ranksOnlyExempt: true }).execute(db);
  },
  async down(db: Kysely<any>) {
    await captureFunction({ ranksOnlyExempt: false }).execute(db);
  },
};
