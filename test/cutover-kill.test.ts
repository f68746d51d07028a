import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../lib/stack';
import { killAllGroups } from '../scripts/chaos/children';
import { runCutoverChaos } from '../scripts/chaos/cutover';
import { formatCutoverChaos } from '../scripts/chaos/table';
import { runSeed } from '../scripts/seed/index';
import { createTestDatabase } from './support/db';
import { testStack, uniqueTaskQueue } from './support/stack';

/**
 * "Killing the worker at any point and restarting it changes nothing in the outcome": a whole cutover whose
 * worker process is SIGKILLed in several steps, against an undisturbed cutover of the same seeded data.
 * (`npm run chaos -- --cutover` kills it in every step.)
 */
describe('a cutover whose worker is killed mid-run', () => {
  const dbs: Array<Awaited<ReturnType<typeof createTestDatabase>>> = [];
  const stacks: Stack[] = [];
  let dir: string;

  beforeAll(async () => {
    for (const label of ['cutover_kill_ref', 'cutover_kill']) {
      const db = await createTestDatabase(label);
      dbs.push(db);
      const stack = await testStack(db.url);
      stacks.push(stack);
      await runSeed(stack.dbs, { size: 'tiny', seed: 41 });
    }
    dir = mkdtempSync(join(tmpdir(), 'cutover-kill-'));
  });
  afterAll(async () => {
    killAllGroups();
    for (const s of stacks) await s.close();
    for (const db of dbs) await db.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ends as the undisturbed cutover does: same tables, evidence, gates and read source', { timeout: 600_000 }, async () => {
    const report = await runCutoverChaos(
      { stack: stacks[0]!, taskQueue: uniqueTaskQueue('cutover-kill-ref') },
      { stack: stacks[1]!, taskQueue: uniqueTaskQueue('cutover-kill') },
      { killAt: ['backfill', 'rerate', 'go-no-go'], maxDelayMs: 1500, seed: 41, timeoutSeconds: 480 },
      { logDir: dir, log: () => {} },
    );
    const table = formatCutoverChaos(report);
    expect(
      report.checks.filter((c) => !c.pass).map((c) => `${c.name}: expected ${c.expected}, got ${c.got}`),
      table,
    ).toEqual([]);
  });
});
