import { spawn } from 'node:child_process';
import { freePort } from '../lib/ports';
import { resolve } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabases, type Databases } from '../store/db';
import { backfillProgress } from '../workflows/backfill/messages';
import { startTestBackfill } from './support/backfill';
import { createTestDatabase, testConfig } from './support/db';
import { testStack, uniqueTaskQueue } from './support/stack';
import type { Stack } from '../lib/stack';
import { runSeed } from '../scripts/seed/index';

const ROOT = resolve(__dirname, '..');

/**
 * Issue 14: with its batches stuck, `npm run stack` ignored SIGTERM. An operator's signal must end it — promptly —
 * even while a batch waits on a lock another session holds.
 */
describe('npm run stack stops on SIGTERM', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let stack: Stack;
  let locker: Databases;
  beforeAll(async () => {
    db = await createTestDatabase('stack_sigterm');
    stack = await testStack(db.url);
    await runSeed(stack.dbs, { size: 'tiny', seed: 8 });
    locker = openDatabases(testConfig(db.url), 1);
  });
  afterAll(async () => {
    await locker?.close();
    await stack?.close();
    await db?.drop();
  });

  it('exits within the shutdown deadline while a batch is stuck on a lock', async () => {
    const taskQueue = uniqueTaskQueue('sigterm');
    const port = await freePort();
    const child = spawn(resolve(ROOT, 'node_modules/.bin/tsx'), ['scripts/stack.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TASK_QUEUE: taskQueue,
        API_PORT: String(port),
        LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) =>
      child.once('exit', (code, signal) => r({ code, signal })),
    );
    try {
      for (let i = 0; i < 600 && child.exitCode === null && !stderr.includes('Up. Ctrl-C to stop.'); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(stderr).toContain('Up. Ctrl-C to stop.');

      // a session holding the unified stats table: every batch waits on it
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const holding = locker.members.transaction().execute(async (tx) => {
        await sql`LOCK TABLE members."memberStats" IN ACCESS EXCLUSIVE MODE`.execute(tx);
        await released;
      });
      const h = await startTestBackfill(stack.client!, taskQueue, { concurrency: 2, batchSize: 50 });
      for (let i = 0; i < 100 && (await h.query(backfillProgress)).inFlight === 0; i++) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 1000)); // the batches are now waiting on the lock

      const signalled = Date.now();
      child.kill('SIGTERM');
      const exit = await exited;
      const seconds = (Date.now() - signalled) / 1000;
      release();
      await holding;
      await h.terminate().catch(() => {});
      expect(exit.signal).toBeNull();
      process.stderr.write(`stack exited ${seconds.toFixed(1)} s after SIGTERM (code ${exit.code})\n`);
      expect(seconds, `exited ${seconds.toFixed(1)} s after SIGTERM`).toBeLessThan(50); // the stack's own deadline is 45 s; Temporal's force time 20 s
      expect(stderr).toContain('SIGTERM: shutting down');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 180_000);
});
