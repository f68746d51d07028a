import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Rerate, RerateDiscard, ReratePromote } from '../workflows/rerate/messages';
import type { RerateInput } from '../workflows/rerate/workflow';
import { runTestBackfill } from './support/backfill';
import { cli } from './support/cli';
import { failureText } from './support/failure';
import { seededStack } from './support/stack';

let seq = 0;
/**
 * Phase D's preview → promote | discard on the real dev server and Postgres (tiny seed, backfilled). What the diff
 * claims is checked against the tables themselves: a snapshot taken before, compared by SQL after the promote.
 */
describe('rerate preview, promote, discard', () => {
  let env: Awaited<ReturnType<typeof seededStack>>;
  beforeAll(async () => {
    env = await seededStack('rerate_preview', { size: 'tiny', seed: 29 });
    await runTestBackfill(env.stack.client!, env.taskQueue, {});
  });
  afterAll(async () => {
    await env?.close();
  });
  const db = () => env.stack.dbs.members;
  const id = (what: string) => `test/${what}/${process.pid}/${Date.now()}/${seq++}`;
  const preview = (options: Partial<RerateInput['options']> = {}) =>
    env.stack.client!.workflow.execute(Rerate, {
      taskQueue: env.taskQueue,
      workflowId: id('rerate'),
      args: [{ options: { stream: 'develop', chunkEvents: 7, preview: true, ...options }, heartbeatSeconds: 5 }],
    });
  const promote = (runKey: string) =>
    env.stack.client!.workflow.execute(ReratePromote, { taskQueue: env.taskQueue, workflowId: id('promote'), args: [{ runKey }] });
  const discard = (runKey: string) =>
    env.stack.client!.workflow.execute(RerateDiscard, { taskQueue: env.taskQueue, workflowId: id('discard'), args: [{ runKey }] });

  /** Every unified table's content (ids and timestamps aside): what a preview must leave exactly as it was. */
  const unifiedDigest = async () =>
    (
      await sql<{ d: string }>`
        SELECT md5(
          (SELECT COALESCE(string_agg(t::text, '|' ORDER BY t::text), '') FROM (
            SELECT "userId", "trackId", "typeId", "challengeId", "oldRating", "newRating", "oldVolatility", "newVolatility",
                   placement, percentile, "mostRecent", "updatedBy" FROM members."memberStatsHistory") t) ||
          (SELECT COALESCE(string_agg(t::text, '|' ORDER BY t::text), '') FROM (
            SELECT "userId", "trackId", "typeId", rating, volatility, "maxRating", "minRating", "globalRank", "countryRank"
            FROM members."memberStats") t) ||
          (SELECT COALESCE(string_agg(t::text, '|' ORDER BY t::text), '') FROM members."memberMaxRating" t)) AS d`.execute(db())
    ).rows[0]!.d;

  it('a preview writes nothing to the unified tables; promote applies exactly its diff, once; a second promote answers from record', async () => {
    const before = await unifiedDigest();
    await sql`DROP TABLE IF EXISTS preview_snapshot`.execute(db());
    await sql`
      CREATE TABLE preview_snapshot AS
      SELECT id, "oldRating", "newRating", "oldVolatility", "newVolatility", placement, percentile FROM members."memberStatsHistory"`.execute(
      db(),
    );
    const r = await preview();
    const p = r.final.preview!;
    expect(p.runKey).toBe(r.plan.runKey);
    expect(await unifiedDigest()).toBe(before);
    const shadow = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM platform."reratePreviewRow" WHERE "runKey" = ${p.runKey}`.execute(db());
    expect(shadow.rows[0]!.n).toBe(r.plan.rows);
    const ev = await sql<{ kind: string }>`SELECT kind FROM platform.evidence WHERE id = ${r.evidenceId}`.execute(db());
    expect(ev.rows[0]!.kind).toBe('rerate-preview');
    expect(p.diff.rowsChanged).toBeGreaterThan(0);

    const done = await promote(p.runKey);
    expect(done).toMatchObject({ runKey: p.runKey, stream: 'develop' });
    // the diff's claims, against the develop rows the promote changed (found by SQL against the snapshot)
    const changed = await sql<{ userId: string; delta: number | null; fresh: boolean }>`
      SELECT h."userId"::text AS "userId", h."newRating" - s."newRating" AS delta, s.id IS NULL AS fresh
      FROM members."memberStatsHistory" h LEFT JOIN preview_snapshot s ON s.id = h.id
      WHERE s.id IS NULL
         OR (h."oldRating", h."newRating", h."oldVolatility", h."newVolatility", h.placement, h.percentile)
            IS DISTINCT FROM (s."oldRating", s."newRating", s."oldVolatility", s."newVolatility", s.placement, s.percentile)`.execute(db());
    expect(changed.rows.length).toBe(p.diff.rowsChanged);
    expect(new Set(changed.rows.map((c) => c.userId)).size).toBe(p.diff.membersChanged);
    expect(changed.rows.filter((c) => c.fresh).length).toBe(p.diff.newRows);
    const moved = changed.rows.filter((c) => c.delta !== null && c.delta !== 0);
    expect(p.diff.histogram.filter((b) => !(b.from === 0 && b.to === 0)).reduce((n, b) => n + b.count, 0)).toBe(moved.length);
    expect(p.diff.histogram.find((b) => b.from === null)!.count).toBe(moved.filter((c) => c.delta! <= -200).length);
    expect(Math.abs(p.diff.largest[0]!.delta)).toBe(Math.max(...moved.map((c) => Math.abs(c.delta!))));
    expect(done.written).toBe(p.diff.rowsChanged);
    const shadowAfter = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM platform."reratePreviewRow" WHERE "runKey" = ${p.runKey}`.execute(db());
    expect(shadowAfter.rows[0]!.n).toBe(0);

    const afterPromote = await unifiedDigest();
    expect(await promote(p.runKey)).toEqual(done);
    expect(await unifiedDigest()).toBe(afterPromote);
    const kinds = await sql<{ kind: string; promotedFrom: string }>`
      SELECT kind, result->>'promotedFrom' AS "promotedFrom" FROM platform.evidence WHERE result->>'promotedFrom' = ${p.runKey}`.execute(
      db(),
    );
    expect(kinds.rows[0]).toEqual({ kind: 'rerate', promotedFrom: p.runKey });
    // the promoted result is the engine's own: a rerate now changes nothing
    const again = await preview();
    expect(again.final.preview!.diff.rowsChanged).toBe(0);
    await sql`DROP TABLE preview_snapshot`.execute(db());
  });

  it('promote refuses a preview whose source moved, naming the member; nothing written; discard drops it, and it cannot be promoted after', async () => {
    const r = await preview({ stream: 'marathon' });
    const runKey = r.final.preview!.runKey;
    const m = await sql<{ id: string; userId: string }>`
      SELECT h.id::text, h."userId"::text FROM members."memberStatsHistory" h
      JOIN platform."reratePreviewRow" p ON p."userId" = h."userId" AND p."challengeId" = h."challengeId" AND p."runKey" = ${runKey}
      WHERE h."newRating" IS NOT NULL ORDER BY h.id LIMIT 1`.execute(db());
    const row = m.rows[0]!;
    // a live writer rates the member meanwhile
    await sql`UPDATE members."memberStatsHistory" SET "newRating" = "newRating" + 1 WHERE id = ${row.id}::bigint`.execute(db());
    const before = await unifiedDigest();
    const refused = await promote(runKey).catch((e: unknown) => e);
    expect(failureText(refused)).toMatch(new RegExp(`preview ${runKey} is stale: .*history of 1 member\\(s\\) \\(${row.userId}\\)`));
    expect(await unifiedDigest()).toBe(before);

    expect(await discard(runKey)).toEqual({ runKey, discarded: true });
    expect(await discard(runKey)).toEqual({ runKey, discarded: false });
    const left = await sql<{ n: number }>`SELECT count(*)::int AS n FROM platform."reratePreviewRow" WHERE "runKey" = ${runKey}`.execute(
      db(),
    );
    expect(left.rows[0]!.n).toBe(0);
    expect(failureText(await promote(runKey).catch((e: unknown) => e))).toMatch(/was discarded: run the preview again/);
    expect(await unifiedDigest()).toBe(before);
    await sql`UPDATE members."memberStatsHistory" SET "newRating" = "newRating" - 1 WHERE id = ${row.id}::bigint`.execute(db());
  });

  it('CLI: --preview prints the diff and the promote command; promote applies it; unknown or malformed runs exit 2 naming them', async () => {
    const env2 = { DATABASE_URL: env.db.url, TEMPORAL_ADDRESS: inject('temporalAddress'), TASK_QUEUE: env.taskQueue };
    const p = await cli(['rerate', '--stream', 'marathon', '--preview', '--chunk-events', '50'], env2);
    expect(p.code).toBe(0);
    expect(p.stdout).toMatch(/nothing written to the unified tables/);
    expect(p.stdout).toMatch(/Δ new rating/);
    const runKey = /rerate promote (\S+)/.exec(p.stdout)![1]!;
    const ok = await cli(['rerate', 'promote', runKey, '--json'], env2);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ runKey, stream: 'marathon' });
    const unknown = await cli(['rerate', 'promote', 'no-such-run'], env2);
    expect({ code: unknown.code, stdout: unknown.stdout }).toEqual({ code: 2, stdout: '' });
    expect(unknown.stderr).toMatch(/rerate run no-such-run: no such run/);
    const bad = await cli(['rerate', 'discard', '../etc'], env2);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/letters, digits and dashes/);
    const idle = await cli(['rerate', 'pause', '--stream', 'develop'], env2);
    expect(idle.code).toBe(2);
    expect(idle.stderr).toMatch(/no rerate of the develop stream is running/);
  });
});
