import type { DbHealth } from '../domain/throttle';
import { readDbHealth } from '../store/health';
import type { ActivityDeps } from './deps';

export function healthActivities({ dbs }: ActivityDeps) {
  return {
    /** One reading of the members database's health for a throttling phase (a local activity: cheap, frequent). */
    async readDbHealth(): Promise<DbHealth> {
      return readDbHealth(dbs.members);
    },
  };
}
