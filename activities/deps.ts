import type { Config } from '../domain/config';
import type { Databases } from '../store/db';

/** What activities are built from: the worker owns these and passes them in once. */
export interface ActivityDeps {
  config: Config;
  dbs: Databases;
}
