import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { PARITY_CATEGORIES } from '../domain/parity';
import { bringUp } from '../lib/stack';
import { runSeed } from '../scripts/seed/index';
import { cli } from './support/cli';
import { createTestDatabase, testConfig } from './support/db';
import { uniqueTaskQueue } from './support/stack';

describe('parity CLI', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await createTestDatabase('parity_cli');
    const stack = await bringUp({ config: testConfig(db.url), temporal: false, log: () => {} });
    await runSeed(stack.dbs, { size: 'tiny', seed: 5 });
    await stack.close();
    env = { DATABASE_URL: db.url, TEMPORAL_ADDRESS: inject('temporalAddress'), TASK_QUEUE: uniqueTaskQueue('parity-cli') };
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('--json prints passed, every category and the evidence id; exit 0 even when parity does not hold', async () => {
    // nothing backfilled: legacy has rows unified lacks, so parity finds differences — still exit 0
    const r = await cli(['parity', '--full', '--json', '--examples', '2'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.passed).toBe(false);
    expect(out.evidenceId).toEqual(expect.any(Number));
    expect(Object.keys(out.categories).sort()).toEqual([...PARITY_CATEGORIES].sort());
    expect(out.categories['track-summary'].count).toBeGreaterThan(0);
    expect(out.categories['track-summary'].examples).toHaveLength(2);
    expect(out.workflowId).toMatch(/^cutover\/parity\//);
  });

  it('bad flags exit 2 before anything runs; an unknown member exits 2 naming it', async () => {
    const both = await cli(['parity', '--full', '--samples', '5'], env);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/choose one of --samples, --full and --user-id/);
    expect((await cli(['parity', '--samples', 'x'], env)).code).toBe(2);
    // its own queue: the server still lists the first command's (stopped) worker as a poller for a while
    const missing = await cli(['parity', '--user-id', '999999999'], { ...env, TASK_QUEUE: uniqueTaskQueue('parity-cli') });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--user-id 999999999: no such member/);
  });
});
