import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bringUp, type Stack } from '../lib/stack';
import { runSeed } from '../scripts/seed/index';
import { cli } from './support/cli';
import { createTestDatabase, testConfig } from './support/db';
import { uniqueTaskQueue } from './support/stack';

/** Every table of ours and the source's, as a content hash: a rejected command must leave each one as it was. */
async function databaseChecksum(db: Kysely<any>): Promise<Record<string, string>> {
  const tables = await sql<{ s: string; t: string }>`
    SELECT table_schema AS s, table_name AS t FROM information_schema.tables
    WHERE table_schema IN ('members', 'platform', 'challenges', 'reviews') AND table_type = 'BASE TABLE' ORDER BY 1, 2`.execute(db);
  const out: Record<string, string> = {};
  for (const { s, t } of tables.rows) {
    const r = await sql<{
      h: string;
    }>`SELECT md5(COALESCE(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM ${sql.table(`${s}.${t}`)} x`.execute(db);
    out[`${s}.${t}`] = r.rows[0]!.h;
  }
  return out;
}

/** [args, what stderr must say]: each is a mistake an operator makes; each must exit 2 before anything runs. */
const BAD: Array<[string[], RegExp]> = [
  [['preflight', '--bogus'], /unknown option/],
  [['status', '--nope'], /unknown option/],
  [['backfill', '--user-ids', ''], /name no member/],
  [['backfill', '--user-id', ' '], /name no member/],
  [['backfill', '--user-ids', ',,,'], /name no member/],
  [['backfill', '--user-id', 'abc'], /positive whole numbers; bad: abc/],
  [['backfill', '--user-ids', '1,99999999999999999999'], /bad: 99999999999999999999/],
  [['backfill', '--concurrency', '0'], /--concurrency must be between 1 and 32/],
  [['backfill', '--concurrency', '33'], /--concurrency must be between 1 and 32/],
  [['backfill', '--limit', '99999999999999999999'], /--limit is too large/],
  [['backfill', '--batch-size', '-5'], /--batch-size must be a whole number/],
  [['backfill', '--batch-size', '0'], /--batch-size must be between 1 and 5000/],
  [['backfill', '--csv-only'], /--csv-only needs --csv-path/],
  [['backfill', '--read-budget-ms', '5'], /--read-budget-ms must be between 10 and 60000/],
  [
    ['backfill', '--track-id', 'UNDERWATER'],
    /--track-id UNDERWATER is neither a ChallengeTrack id nor a track name; use one of DEVELOPMENT/,
  ],
  [['backfill', '--type-id', 'Relay Race'], /--type-id Relay Race is neither a ChallengeType id nor a type name/],
  [['backfill', '--user-id', '987654321'], /no member has id 987654321/],
  [['retune', '--concurrency', '0'], /--concurrency must be between 1 and 32/],
  [['retune', '--concurrency', '40'], /--concurrency must be between 1 and 32, got 40/],
  [['retune', '--concurrency', '99999999999999999999'], /--concurrency is too large/],
  [['parity', '--samples', 'abc'], /--samples must be a whole number/],
  [['parity', '--full', '--samples', '60'], /one of/],
  [['parity', '--user-id', '987654321'], /--user-id 987654321: no such member/],
  [['parity', '--examples', '99999999999999999999'], /--examples is too large/],
  [['switch', '--to', 'sideways', '--reason', 'x'], /--to/],
  [['switch', '--to', 'unified'], /--reason is required/],
  [['switch', '--to', 'unified', '--reason', '   '], /--reason must not be empty/],
  [['switch', '--to', 'unified', '--reason', 'r'.repeat(2001)], /longer than 2000/],
  [['rerate'], /--stream must be develop or marathon/],
  [['rerate', '--stream', 'design'], /--stream must be develop or marathon/],
  [['rerate', '--stream', 'develop', '--from', 'nope'], /--from nope: no such challenge/],
  [['rerate', '--stream', 'develop', '--from', '00000000-0000-0000-0000-000000000000'], /no such challenge/],
  [['rerate', '--stream', 'marathon', '--concurrency', '0'], /--concurrency must be between 1 and 32/],
  [['rerate', '--stream', 'develop', '--user-id', '987654321'], /--user-id 987654321: no such member/],
  [['rerate', '--stream', 'develop', '--user-id', '5', '--challenge', '7'], /choose one of --user-id and --challenge/],
  [['rerate', '--stream', 'develop', '--challenge', 'nope'], /--challenge nope: no such challenge/],
  [['rerate', '--stream', 'marathon', '--chunk-events', '99999999999999999999'], /--chunk-events is too large/],
  [['rate', '--input', '/nonexistent/file.json'], /nonexistent/],
  [['serve', '--port', '70000'], /--port must be 0-65535/],
  [['frobnicate'], /unknown command/],
];

describe('every CLI command answers bad flags with exit 2, a reason, and no writes', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let stack: Stack;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await createTestDatabase('cli_bad');
    stack = await bringUp({ config: testConfig(db.url), temporal: false, log: () => {} });
    await runSeed(stack.dbs, { size: 'tiny', seed: 4 });
    env = {
      DATABASE_URL: db.url,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TASK_QUEUE: uniqueTaskQueue('cli-bad'),
      LOG_LEVEL: 'silent',
    };
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  it(`bad invocations (${BAD.length + 1}): exit 2, stderr says what is wrong, stdout empty, every table unchanged`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cutover-bad-'));
    const badJson = join(dir, 'bad.json');
    writeFileSync(badJson, '{"participants": [{"id": "a", "rating": "high"}]');
    const cases: Array<[string[], RegExp]> = [...BAD, [['rate', '--input', badJson], /JSON|participants/]];
    const before = await databaseChecksum(stack.dbs.members);
    const results: Array<{ args: string; code: number; stdout: string; stderr: string; expect: RegExp }> = [];
    // four processes at a time: each is a whole CLI start (tsx), which is what an operator runs
    const queue = [...cases];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let c = queue.shift(); c; c = queue.shift()) {
          const r = await cli(c[0], env);
          results.push({ args: c[0].join(' ').slice(0, 80), ...r, expect: c[1] });
        }
      }),
    );
    for (const r of results) {
      expect({ args: r.args, code: r.code, stdout: r.stdout }).toEqual({ args: r.args, code: 2, stdout: '' });
      expect(r.stderr, r.args).toMatch(r.expect);
      expect(r.stderr, r.args).not.toMatch(/\n\s+at .+:\d+:\d+/); // a reason, not a stack trace
    }
    expect(await databaseChecksum(stack.dbs.members)).toEqual(before);
    // and no workflow was started for any of them
    const { Connection, Client } = await import('@temporalio/client');
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const client = new Client({ connection });
      const started: string[] = [];
      for await (const w of client.workflow.list({ query: `TaskQueue = '${env.TASK_QUEUE}'` })) started.push(w.workflowId);
      expect(started).toEqual([]);
    } finally {
      await connection.close();
    }
  }, 240_000);
});
