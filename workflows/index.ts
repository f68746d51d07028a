// The worker's workflow bundle: every workflow type the task queue serves.
export { preflight } from './preflight';
export { backfill } from './backfill';
export { backfillMember } from './backfill-member';
export { parity } from './parity';
