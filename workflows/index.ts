// The worker's workflow bundle: every workflow type the task queue serves. Clients import only the messages files.
export { preflight } from './preflight/workflow';
export { backfill } from './backfill/workflow';
export { backfillMember } from './backfill/member';
export { parity } from './parity/workflow';
export { rerate } from './rerate/workflow';
export { rerateMember, rerateChallenge } from './rerate/member';
export { reratePromote, rerateDiscard } from './rerate/preview';
export { dedupe } from './dedupe/workflow';
export { refreshChallenge, refreshMember } from './refresh/challenge';
export { ratingSequencer } from './refresh/sequencer';
export { refreshReconcile } from './refresh/reconcile';
export { reports } from './reports/workflow';
export { cutover } from './cutover/workflow';
export { switchReads } from './switch/workflow';
