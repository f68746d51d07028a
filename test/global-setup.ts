import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node' with { 'resolution-mode': 'import' };
import { parseConfig } from '../domain/config';
import { freePort } from '../lib/ports';
import { isRefused, probe, startEmbeddedPostgres } from '../lib/postgres';
import { ensureTemporal, type TemporalHandle } from '../lib/temporal';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    pgAdminUrl: string;
  }
}

let handle: TemporalHandle | undefined;
let dataDir: string | undefined;
let embedded: { stop(): Promise<void> } | undefined;
const log = (m: string) => process.stderr.write(`[test setup] ${m}\n`);

/** The Postgres server for test databases: TEST_PG_URL, else 127.0.0.1:5432, else embedded Postgres started here. */
async function postgresForTests(): Promise<string> {
  const url = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const p = await probe(url);
  if (p.ok || process.env.TEST_PG_URL || !isRefused(p)) return url;
  log('no Postgres at 127.0.0.1:5432: starting embedded Postgres for the tests');
  const dir = mkdtempSync(join(tmpdir(), 'cutover-test-pg-'));
  const server = await startEmbeddedPostgres(join(dir, 'data'), await freePort(), log);
  embedded = {
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server.serverUrl;
}

/**
 * One real Postgres server and one real Temporal dev server for the whole run (TEST_TEMPORAL_ADDRESS to use an existing one instead), found or
 * installed the way the stack does it. Each test file brings its own database and task queue.
 */
export async function setup(project: TestProject): Promise<void> {
  project.provide('pgAdminUrl', await postgresForTests());
  if (process.env.TEST_TEMPORAL_ADDRESS) {
    project.provide('temporalAddress', process.env.TEST_TEMPORAL_ADDRESS);
    return;
  }
  dataDir = mkdtempSync(join(tmpdir(), 'cutover-test-'));
  const config = parseConfig({
    TEMPORAL_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    CUTOVER_DATA_DIR: dataDir,
    TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH,
  });
  handle = await ensureTemporal(config, log);
  project.provide('temporalAddress', handle.address);
}

export async function teardown(): Promise<void> {
  await handle?.stop();
  await embedded?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
