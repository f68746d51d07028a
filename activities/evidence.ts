import type { EvidenceInput } from '../domain/evidence';
import { storeEvidence } from '../store/evidence';
import type { ActivityDeps } from './deps';

export function evidenceActivities({ dbs }: ActivityDeps) {
  return {
    /** Idempotent: a retried activity (same workflow run) updates the one row it wrote. */
    storeEvidence: (e: EvidenceInput): Promise<number> => storeEvidence(dbs.members, e),
  };
}
