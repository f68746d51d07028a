import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedupeActivities } from '../activities/dedupe';
import type { DedupeInput } from '../domain/dedupe';
import { loadCatalog } from '../store/catalog';
import { catalogNames } from '../domain/catalog';
import { historyCount, countFindings } from '../store/parity/categories';
import { responseShapeFindings } from '../store/parity/shape';
import { Dedupe } from '../workflows/dedupe/messages';
import { Rerate } from '../workflows/rerate/messages';
import { runTestBackfill } from './support/backfill';
import { dedupeDigest, deriveDuplicates, historyRows, type Derived } from './support/dedupe';
import { failureText } from './support/failure';
import { seededStack } from './support/stack';

let seq = 0;

/** Phase D5 on a backfilled tiny seed after a marathon rerate (which writes the canonical rows), real Temporal and Postgres. */
describe('dedupe (D5)', () => {
  let env: Awaited<ReturnType<typeof seededStack>>;
  const db = () => env.stack.dbs.members;
  const run = (input: DedupeInput) =>
    env.stack.client!.workflow.execute(Dedupe, {
      taskQueue: env.taskQueue,
      workflowId: `test/dedupe/${process.pid}/${Date.now()}/${seq++}`,
      args: [input],
    });
  const failure = (input: DedupeInput) =>
    run(input).then(
      () => 'completed',
      (e: unknown) => failureText(e),
    );
  let all: Derived[];

  beforeAll(async () => {
    env = await seededStack('dedupe', { size: 'tiny', seed: 13 });
    await runTestBackfill(env.stack.client!, env.taskQueue, {});
    await env.stack.client!.workflow.execute(Rerate, {
      taskQueue: env.taskQueue,
      workflowId: `test/dedupe-rerate/${process.pid}/${Date.now()}`,
      args: [{ options: { stream: 'marathon', chunkEvents: 50 } }],
    });
    all = await deriveDuplicates(db());
  });
  afterAll(async () => {
    await env?.close();
  });

  it('a dry run writes nothing and finds exactly the independently derived duplicates, each with its canonical row; on record', async () => {
    expect(all.length).toBeGreaterThan(20);
    const before = await dedupeDigest(db());
    const r = await run({ options: {} });
    expect(await dedupeDigest(db())).toEqual(before);
    if (r.mode === 'undo') throw new Error('expected a report');
    const members = new Set(all.map((d) => d.userId));
    const rounds = new Set(all.map((d) => `${d.userId}/${d.round}`));
    expect({ rows: r.report.rows, members: r.report.members, rounds: r.report.rounds, apply: r.report.apply }).toEqual({
      rows: all.length,
      members: members.size,
      rounds: rounds.size,
      apply: false,
    });
    expect(r.report.examples.map((x) => ({ id: x.id, userId: x.userId, round: x.round, canonicalId: x.canonical.id }))).toEqual(all);
    const ev = await sql<{ kind: string; passed: boolean; mode: string }>`
      SELECT kind, passed, input->>'mode' AS mode FROM platform.evidence WHERE id = ${r.evidenceId}`.execute(db());
    expect(ev.rows[0]).toEqual({ kind: 'dedupe', passed: true, mode: 'dry-run' });
    const described = await env.stack.client!.workflow.getHandle(r.workflowId, r.runId).describe();
    expect(described.searchAttributes).toMatchObject({ CutoverPhase: ['dedupe'], CutoverState: ['done'] });
  });

  it('--user-id and --limit scope the duplicates: the members named, the first N in member, round, row order', async () => {
    const some = [...new Set(all.map((d) => d.userId))].slice(1, 3);
    const scoped = await run({ options: { userIds: some } });
    const ids = (r: typeof scoped) => (r.mode === 'undo' ? [] : r.report.examples.map((x) => x.id));
    expect(ids(scoped)).toEqual((await deriveDuplicates(db(), some)).map((d) => d.id));
    expect(ids(await run({ options: { limit: 5 } }))).toEqual(all.slice(0, 5).map((d) => d.id));
    const both = await run({ options: { userIds: some, limit: 2 } });
    expect(ids(both)).toEqual((await deriveDuplicates(db(), some)).slice(0, 2).map((d) => d.id));
  });

  it('bad input stops the run before any write, naming it: an unknown member, an unknown run to undo, --limit 0', async () => {
    const before = await dedupeDigest(db());
    expect(await failure({ options: { userIds: [987654321], apply: true } })).toMatch(/--user-id 987654321: no such member/);
    expect(await failure({ undo: 'no-such-run' })).toMatch(/--undo no-such-run: no applied dedupe run has that id/);
    expect(await failure({ options: { limit: 0, apply: true } })).toMatch(/--limit must be a positive whole number/);
    expect(await dedupeDigest(db())).toEqual(before);
  });

  it('apply removes exactly the duplicates into the tombstone, one mostRecent per member on the latest row; undo restores bit for bit; both idempotent', async () => {
    // a legacy-era flag: one member's mostRecent on a numeric duplicate (moved here, cleared before set), which the dedupe must move
    const flagged = all[all.length - 1]!;
    await sql`UPDATE members."memberStatsHistory" SET "mostRecent" = false
              WHERE "userId" = ${flagged.userId} AND "mostRecent" AND "typeId" = (SELECT "typeId" FROM members."memberStatsHistory" WHERE id = ${flagged.id})`.execute(
      db(),
    );
    await sql`UPDATE members."memberStatsHistory" SET "mostRecent" = true WHERE id = ${flagged.id}`.execute(db());
    const exact = await historyRows(db());
    const removedRows = await sql<{ j: string }>`
      SELECT to_jsonb(h)::text AS j FROM members."memberStatsHistory" h WHERE id = ANY(${all.map((d) => d.id)}::bigint[]) ORDER BY id`.execute(
      db(),
    );

    const applied = await run({ options: { apply: true } });
    if (applied.mode !== 'apply') throw new Error('expected an apply');
    expect({ rows: applied.report.rows, set: applied.report.mostRecent!.set >= 1 }).toEqual({ rows: all.length, set: true });
    const left = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM members."memberStatsHistory" WHERE id = ANY(${all.map((d) => d.id)}::bigint[])`.execute(db());
    expect(left.rows[0]!.n).toBe(0);
    // the tombstone holds the removed rows exactly as they were
    const kept = await sql<{ j: string }>`
      SELECT (to_jsonb(t) - 'runId' - 'round' - 'canonicalId' - 'canonicalChallengeId')::text AS j
      FROM platform."dedupeTombstone" t WHERE "runId" = ${applied.runId} ORDER BY id`.execute(db());
    const norm = (rows: { j: string }[]) => rows.map((r) => JSON.parse(r.j) as Record<string, unknown>);
    expect(norm(kept.rows)).toEqual(norm(removedRows.rows));
    // one mostRecent per member and key, on the latest row (eventDate, then id)
    const wrong = await sql<{ userId: number }>`
      SELECT "userId" FROM members."memberStatsHistory" h GROUP BY "userId", "trackId", "typeId"
      HAVING count(*) FILTER (WHERE "mostRecent") <> 1
          OR max(id) FILTER (WHERE "mostRecent") <> (array_agg(id ORDER BY "eventDate" DESC, id DESC))[1]`.execute(db());
    expect(wrong.rows.filter((w) => all.some((d) => d.userId === w.userId))).toEqual([]);
    expect(await deriveDuplicates(db())).toEqual([]);

    // the same run applied again (a retried activity) does nothing
    const acts = dedupeActivities({ config: env.stack.config, dbs: env.stack.dbs });
    const afterApply = await dedupeDigest(db());
    const again = await acts.dedupeApply({ runId: applied.runId, options: { apply: true }, startedAt: new Date().toISOString() });
    expect({ alreadyApplied: again.alreadyApplied, rows: again.rows }).toEqual({ alreadyApplied: true, rows: all.length });
    expect(await dedupeDigest(db())).toEqual(afterApply);
    // a new apply finds nothing left to remove
    const none = await run({ options: { apply: true } });
    expect(none.mode === 'apply' && none.report.rows).toBe(0);

    const undone = await run({ undo: applied.runId });
    if (undone.mode !== 'undo') throw new Error('expected an undo');
    expect(undone.undo).toMatchObject({ restored: all.length, alreadyUndone: false });
    expect(undone.undo.mostRecentRestored).toBe(applied.report.mostRecent!.cleared + applied.report.mostRecent!.set);
    expect(await historyRows(db())).toBe(exact);
    const afterUndo = await dedupeDigest(db());
    const twice = await run({ undo: applied.runId });
    expect(twice.mode === 'undo' && twice.undo.alreadyUndone).toBe(true);
    expect(await dedupeDigest(db())).toEqual(afterUndo);
    const status = await sql<{ status: string }>`SELECT status FROM platform."dedupeRun" WHERE "runId" = ${applied.runId}`.execute(db());
    expect(status.rows[0]!.status).toBe('undone');
  });

  it('runs are undone latest first: an earlier run of the same members is refused until the later one is undone', async () => {
    const exact = await historyRows(db());
    const member = all[0]!.userId;
    const first = await run({ options: { userIds: [member], limit: 1, apply: true } });
    const second = await run({ options: { userIds: [member], apply: true } });
    expect(first.mode === 'apply' && first.report.examples.map((x) => x.id)).toEqual([all[0]!.id]);
    expect(second.mode === 'apply' && second.report.rows).toBe(all.filter((d) => d.userId === member).length - 1);
    const before = await dedupeDigest(db());
    expect(await failure({ undo: first.runId })).toMatch(new RegExp(`the later dedupe run ${second.runId} .*undo it first`));
    expect(await dedupeDigest(db())).toEqual(before);
    await run({ undo: second.runId });
    await run({ undo: first.runId });
    expect(await historyRows(db())).toBe(exact);
  });

  it('an undo refuses, changing nothing, when a removed row is back in the history (a re-backfill since)', async () => {
    const exact = await historyRows(db());
    const member = all[0]!.userId;
    const applied = await run({ options: { userIds: [member], apply: true } });
    const back = await sql<{ id: number }>`
      INSERT INTO members."memberStatsHistory" ("userId", "trackId", "typeId", "challengeId", "challengeName", "eventDate")
      SELECT "userId", "trackId", "typeId", "challengeId", "challengeName", "eventDate" FROM platform."dedupeTombstone"
      WHERE "runId" = ${applied.runId} ORDER BY id LIMIT 1 RETURNING id`.execute(db());
    const before = await dedupeDigest(db());
    expect(await failure({ undo: applied.runId })).toMatch(/1 of the rows it removed are in the history again .*nothing was restored/);
    expect(await dedupeDigest(db())).toEqual(before);
    await sql`DELETE FROM members."memberStatsHistory" WHERE id = ${back.rows[0]!.id}`.execute(db());
    await run({ undo: applied.runId });
    expect(await historyRows(db())).toBe(exact);
  });

  it('parity history-count and response-shape: a deduplicated round is no missing row while the run stands', async () => {
    const cat = await loadCatalog(env.stack.dbs.challenges);
    const members = [...new Set(all.map((d) => d.userId))];
    const scope = { userIds: members };
    const count = () => countFindings(db(), historyCount(cat, scope), 5).then((f) => f.count);
    // the API answer of a member whose legacy duplicate was removed: legacy lists it, unified has its canonical entry
    const missingEntries = async () =>
      (await responseShapeFindings(db(), catalogNames(cat), members)).filter((f) => /^history\[[^\]]+\]$/.test(f.field));
    expect(await count()).toBe(0);
    expect(await missingEntries()).toEqual([]);
    const applied = await run({ options: { apply: true } });
    expect(await count()).toBe(0);
    expect(await missingEntries()).toEqual([]);
    // without the run (marked undone in a transaction rolled back), the removed legacy challenges are missing
    const without = await db()
      .transaction()
      .execute(async (tx) => {
        await sql`UPDATE platform."dedupeRun" SET status = 'undone' WHERE "runId" = ${applied.runId}`.execute(tx);
        const n = (await countFindings(tx, historyCount(cat, scope), 5)).count;
        throw Object.assign(new Error('rollback'), { n });
      })
      .catch((e: { n?: number }) => e.n);
    expect(without).toBeGreaterThan(0);
    expect(await count()).toBe(0);
    await run({ undo: applied.runId });
    expect(await count()).toBe(0);
  });
});
