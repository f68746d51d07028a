import type { Client } from '@temporalio/client';
import type { Config } from '../domain/config';
import type { Databases } from '../store/db';

/** What activities are built from: the worker owns these and passes them in once. */
export interface ActivityDeps {
  config: Config;
  dbs: Databases;
  /** a client of the worker's Temporal (connected on first use): activities that start or signal workflows */
  temporal?: () => Promise<Client>;
}
