import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bringUp, type Stack } from '../lib/stack';
import { killAllGroups } from '../scripts/chaos/children';
import { seedOnce } from '../scripts/chaos/database';
import { ChaosTemporal } from '../scripts/chaos/dev-server';
import { runChaos } from '../scripts/chaos/run';
import { formatChaos } from '../scripts/chaos/table';
import { createTestDatabase, testConfig } from './support/db';

/**
 * The short chaos suite (`npm run chaos` is the full one), through the same machinery: a tiny seed in small
 * batches so the run lasts long enough to be hit; its own Temporal dev server, because it is killed.
 */
describe('chaos: worker SIGKILLs, a Temporal restart and lost Postgres sessions during backfill and parity', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let stack: Stack;
  let temporal: ChaosTemporal;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase('chaos');
    stack = await bringUp({ config: testConfig(db.url), temporal: false, log: () => {} });
    await seedOnce(stack, 'tiny', 3, () => {});
    dir = mkdtempSync(join(tmpdir(), 'cutover-chaos-test-'));
    temporal = await ChaosTemporal.start(dir, process.env.TEMPORAL_CLI_PATH);
  });
  afterAll(async () => {
    killAllGroups(); // workers left by a run that timed out
    await temporal?.stop();
    await stack?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ends exactly as an undisturbed run: same tables, no lost or duplicate rows, same totals and evidence, clean parity', async () => {
    const report = await runChaos(
      { databaseUrl: db.url, temporal, log: () => {} },
      {
        kills: 2,
        temporalRestarts: 1,
        temporalDownSeconds: 3,
        pgTerminations: 2,
        parityKill: false,
        batchSize: 4,
        concurrency: 2,
        heartbeatSeconds: 3,
        recoverySeconds: 90,
      },
    );
    const table = formatChaos(report);
    expect(
      report.checks.filter((c) => !c.pass).map((c) => `${c.name}: expected ${c.expected}, got ${c.got}`),
      table,
    ).toEqual([]);
    expect(report.faults.filter((f) => f.kind === 'worker SIGKILL' && f.landed).length, table).toBeGreaterThanOrEqual(2);
  }, 240_000);
});
