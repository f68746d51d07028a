import type { ActivityDeps } from './deps';
import { backfillActivities } from './backfill';
import { cutoverActivities } from './cutover';
import { dedupeActivities } from './dedupe';
import { evidenceActivities } from './evidence';
import { healthActivities } from './health';
import { preflightActivities } from './preflight';
import { parityActivities } from './parity';
import { refreshActivities } from './refresh';
import { reportsActivities } from './reports';
import { rerateActivities } from './rerate';
import { switchActivities } from './switch';

export type { ActivityDeps } from './deps';

export function createActivities(deps: ActivityDeps) {
  return {
    ...preflightActivities(deps),
    ...evidenceActivities(deps),
    ...backfillActivities(deps),
    ...parityActivities(deps),
    ...healthActivities(deps),
    ...rerateActivities(deps),
    ...dedupeActivities(deps),
    ...refreshActivities(deps),
    ...reportsActivities(deps),
    ...cutoverActivities(deps),
    ...switchActivities(deps),
  };
}

/** The activity interface workflows proxy (type only: workflows never import activity code). */
export type Activities = ReturnType<typeof createActivities>;
