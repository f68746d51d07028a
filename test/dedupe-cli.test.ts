import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Rerate } from '../workflows/rerate/messages';
import { runTestBackfill } from './support/backfill';
import { cli } from './support/cli';
import { seededStack, uniqueTaskQueue } from './support/stack';
import { dedupeDigest, deriveDuplicates, historyRows } from './support/dedupe';

/** [args, what stderr must say]: an operator's mistakes with dedupe; each exits 2 before anything runs. */
const BAD: Array<[string[], RegExp]> = [
  [['dedupe', '--user-id', 'abc'], /--user-id takes positive whole numbers; bad: abc/],
  [['dedupe', '--user-id', '5,x7'], /--user-id takes positive whole numbers; bad: x7/],
  [['dedupe', '--user-id', ' '], /--user-id names no member/],
  [['dedupe', '--user-id', '987654321'], /--user-id 987654321: no such member/],
  [['dedupe', '--limit', '0'], /--limit must be a positive whole number/],
  [['dedupe', '--limit', 'ten'], /--limit must be a whole number, got "ten"/],
  [['dedupe', '--limit', '99999999999999999999'], /--limit is too large/],
  [['dedupe', '--undo', 'no-such-run'], /--undo no-such-run: no applied dedupe run has that id/],
  [['dedupe', '--undo', 'r1', '--apply'], /--undo restores an applied run and --apply removes rows: choose one/],
  [['dedupe', '--undo', 'r1', '--limit', '3'], /--undo restores the whole run it names: leave out --user-id and --limit/],
  [['dedupe', '--undo'], /argument missing/],
];

/** The dedupe CLI as an operator runs it: dry run → --apply → --undo, and bad input (exit 2, nothing written). */
describe('dedupe CLI', () => {
  let env: Awaited<ReturnType<typeof seededStack>>;
  let cliEnv: Record<string, string>;
  beforeAll(async () => {
    env = await seededStack('dedupe_cli', { size: 'tiny', seed: 5 });
    await runTestBackfill(env.stack.client!, env.taskQueue, {});
    await env.stack.client!.workflow.execute(Rerate, {
      taskQueue: env.taskQueue,
      workflowId: `test/dedupe-cli-rerate/${process.pid}/${Date.now()}`,
      args: [{ options: { stream: 'marathon', chunkEvents: 50 } }],
    });
    // the test's worker polls this queue: the CLI uses it, as it would a running `npm run stack`
    cliEnv = { DATABASE_URL: env.db.url, TEMPORAL_ADDRESS: inject('temporalAddress'), TASK_QUEUE: env.taskQueue, LOG_LEVEL: 'silent' };
  });
  afterAll(async () => {
    await env?.close();
  });
  const db = () => env.stack.dbs.members;

  it('dry run prints the report and writes nothing; --apply removes and prints the run id; --undo restores exactly', async () => {
    const derived = await deriveDuplicates(db());
    expect(derived.length).toBeGreaterThan(0);
    const before = await dedupeDigest(db());
    const exact = await historyRows(db());

    const dry = await cli(['dedupe'], cliEnv);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`Dedupe dry run \\(nothing written\\): ${derived.length} numeric Marathon Match history rows`));
    expect(dry.stdout).toMatch(
      new RegExp(
        `member ${derived[0]!.userId}\\n    round ${derived[0]!.round}: remove #${derived[0]!.id} .* — keep #${derived[0]!.canonicalId} `,
      ),
    );
    expect(dry.stdout).toMatch(/Apply after approval: npm run cutover -- dedupe --apply/);
    expect(await dedupeDigest(db())).toEqual(before);

    const applied = await cli(['dedupe', '--apply', '--json'], cliEnv);
    expect(applied.code, applied.stderr).toBe(0);
    const out = JSON.parse(applied.stdout);
    expect(out).toMatchObject({ mode: 'apply', report: { rows: derived.length, apply: true } });
    expect(await deriveDuplicates(db())).toEqual([]);

    const undone = await cli(['dedupe', '--undo', out.runId], cliEnv);
    expect(undone.code, undone.stderr).toBe(0);
    expect(undone.stdout).toMatch(new RegExp(`Dedupe run ${out.runId} undone: ${derived.length} history rows restored`));
    expect(await historyRows(db())).toBe(exact);
    const again = await cli(['dedupe', '--undo', out.runId], cliEnv);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/was already undone/);
  });

  it(`bad input (${BAD.length}): exit 2, stderr says what is wrong and how to fix it, stdout empty, nothing written or started`, async () => {
    const taskQueue = uniqueTaskQueue('dedupe-bad');
    const badEnv = { ...cliEnv, TASK_QUEUE: taskQueue };
    const before = await dedupeDigest(db());
    const results = await Promise.all(
      BAD.map(async ([args, expected]) => ({ args: args.join(' '), expected, ...(await cli(args, badEnv)) })),
    );
    for (const r of results) {
      expect({ args: r.args, code: r.code, stdout: r.stdout }).toEqual({ args: r.args, code: 2, stdout: '' });
      expect(r.stderr, r.args).toMatch(r.expected);
      expect(r.stderr, r.args).not.toMatch(/\n\s+at .+:\d+:\d+/);
    }
    expect(await dedupeDigest(db())).toEqual(before);
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const started: string[] = [];
      for await (const w of new Client({ connection }).workflow.list({ query: `TaskQueue = '${taskQueue}'` })) started.push(w.workflowId);
      expect(started).toEqual([]);
    } finally {
      await connection.close();
    }
  }, 240_000);
});
