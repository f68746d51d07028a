import type { AddressInfo } from 'node:net';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../api/server';
import { BUILTIN_CATALOG, catalogNames } from '../domain/catalog';
import { Failure } from '../domain/failures';
import { STORE_READ_PATH_NOTE, type SwitchReadsFailureDetails, type SwitchReadsInput, type SwitchReadsResult } from '../domain/switch';
import type { Stack } from '../lib/stack';
import { legacyHistory } from '../store/members/legacy';
import { unifiedHistory } from '../store/members/unified';
import {
  getReadSource,
  readSourceHistory,
  switchReadSource,
  switchReadSourceOnce,
  watchReadSource,
  type ReadSourceReader,
} from '../store/read-source';
import { knownRatedMembers } from '../store/switch';
import { runWorker, type RunningWorker } from '../workers/run';
import { SwitchReads, switchStatus } from '../workflows/switch/messages';
import { runTestBackfill } from './support/backfill';
import { runTestParity } from './support/parity';
import { seededStack, testStack, uniqueTaskQueue, workflowBundle } from './support/stack';

const names = catalogNames(BUILTIN_CATALOG);

describe('switchReads (phase C as a workflow): gate → capture → flip → verify through the API → evidence', () => {
  let env: Awaited<ReturnType<typeof seededStack>>;
  let reader: ReadSourceReader;
  let app: FastifyInstance;
  let apiUrl: string;
  // a second worker whose config has API_URL: its switches read through the API over HTTP
  let apiStack: Stack;
  let apiQueue: string;
  let apiWorker: RunningWorker;
  const db = () => env.stack.dbs.members;
  const client = (): Client => env.stack.client!;

  beforeAll(async () => {
    env = await seededStack('switch_wf', { size: 'tiny', seed: 21 });
    await runTestBackfill(client(), env.taskQueue, {});
    reader = await watchReadSource(db());
    app = await buildApi({ dbs: env.stack.dbs, readSource: reader, readLatency: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    apiUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    apiStack = await testStack(env.db.url, { API_URL: apiUrl });
    apiQueue = uniqueTaskQueue('switch_api');
    apiWorker = await runWorker(apiStack, { taskQueue: apiQueue, workflowBundle: await workflowBundle() });
  });
  afterAll(async () => {
    await apiWorker?.stop();
    await apiStack?.close();
    await app?.close();
    reader?.close();
    await env?.close();
  });

  let seq = 0;
  const start = (taskQueue: string, input: SwitchReadsInput) =>
    client().workflow.start(SwitchReads, { taskQueue, workflowId: `test/switch/${process.pid}/${Date.now()}/${seq++}`, args: [input] });
  /** The workflow's failure: its ApplicationFailure and the details it carries. */
  async function failed(p: Promise<unknown>): Promise<{ cause: ApplicationFailure; details?: SwitchReadsFailureDetails }> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    const f = cause as ApplicationFailure;
    return { cause: f, details: f.details?.[0] as SwitchReadsFailureDetails | undefined };
  }
  const evidenceRow = async (id: number) =>
    (
      await sql<{ kind: string; passed: boolean; input: any; result: any }>`
        SELECT kind, passed, input, result FROM platform.evidence WHERE id = ${id}`.execute(db())
    ).rows[0]!;
  const servedFrom = async (handle: string) =>
    ((await (await fetch(`${apiUrl}/members/${handle}/stats`)).json()) as { readSource?: string }).readSource;
  const auditCount = async () =>
    (await sql<{ n: number }>`SELECT count(*)::int AS n FROM platform."readSourceAudit"`.execute(db())).rows[0]!.n;

  it('bad input fails at once (InvalidInput) naming the field', async () => {
    const { cause } = await failed(start(env.taskQueue, { actor: 't', reason: 'r', members: 9 }).then((h) => h.result()));
    expect(cause.type).toBe(Failure.InvalidInput);
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toMatch(/members: members must be 3 to 5/);
  });

  it('the gate closed and not forced: GateClosed saying what to run, nothing flipped, the refusal on record', async () => {
    const before = await auditCount();
    const h = await start(apiQueue, { actor: 't', reason: 'go' });
    const { cause, details } = await failed(h.result());
    expect(cause.type).toBe(Failure.GateClosed);
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toMatch(/parity gate does not hold .*npm run cutover -- parity --full/);
    expect(await getReadSource(db())).toBe('legacy');
    expect(await auditCount()).toBe(before);
    expect(details).toMatchObject({ stage: 'gate', forced: false, gate: { passed: false } });
    expect(details?.switched).toBeUndefined();
    const ev = await evidenceRow(details!.evidenceId);
    expect(ev).toMatchObject({ kind: 'switch', passed: false, input: { actor: 't', reason: 'go', force: false, members: 5 } });
    expect((await h.query(switchStatus)).state).toBe('refused');
  });

  it('the gate holds: flipped, verified for 5 members through the API over HTTP, evidence stored', async () => {
    const parity = await runTestParity(client(), env.taskQueue, { mode: 'full' });
    expect(parity.passed).toBe(true);
    const h = await start(apiQueue, { actor: 'alice', reason: 'parity clean' });
    const r: SwitchReadsResult = await h.result();
    expect(r.gate).toMatchObject({ passed: true, evidenceIds: expect.arrayContaining([parity.evidenceId]) });
    expect(r.forced).toBe(false);
    expect(r.switched).toMatchObject({ from: 'legacy', to: 'unified', changed: true, actor: 'alice', reason: 'parity clean' });
    expect(r.rolledBack).toBeUndefined();
    expect(r.verification).toMatchObject({ ok: true, via: 'api', problems: [] });
    expect(r.verification.detail).toContain(apiUrl);
    expect(r.verification.members.map((m) => m.userId)).toEqual((await knownRatedMembers(db(), 5)).map((m) => m.userId));
    for (const m of r.verification.members) {
      expect(m.ok).toBe(true);
      expect(m.unified.history).toBeGreaterThanOrEqual(m.legacy.history);
    }
    expect(await getReadSource(db())).toBe('unified');
    const ev = await evidenceRow(r.evidenceId);
    expect(ev).toMatchObject({
      kind: 'switch',
      passed: true,
      input: { actor: 'alice', reason: 'parity clean', force: false, members: 5 },
      result: { via: 'api', rolledBack: null, gate: { passed: true } },
    });
    expect(ev.result.verification).toHaveLength(5);
    expect((await h.query(switchStatus)).state).toBe('done');
    // the API serves what was verified
    const handle = r.verification.members[0]!.handle;
    expect(await servedFrom(handle)).toBe('unified');
    await switchReadSource(db(), { to: 'legacy', actor: 't', reason: 'next test' });
  });

  it('the flip is once per workflow step: a retried attempt returns the first result, one audit row', async () => {
    const before = await auditCount();
    const a = await switchReadSourceOnce(db(), 'test/once', { to: 'legacy', actor: 't', reason: 'once' });
    const b = await switchReadSourceOnce(db(), 'test/once', { to: 'legacy', actor: 't', reason: 'once' });
    expect(b).toEqual(a);
    expect(await auditCount()).toBe(before + 1);
  });

  it('a mostRecent flag on an older row (store read path): rolled back to legacy at once, the member named on record', async () => {
    const [target] = await knownRatedMembers(db(), 5);
    // the flag moves from the group's latest row to an older one (the partial unique index forbids two)
    const group = await sql<{ latest: number; older: number }>`
      SELECT max(id) FILTER (WHERE "mostRecent") AS latest, (array_agg(id ORDER BY "eventDate", id))[1] AS older
      FROM members."memberStatsHistory" WHERE "userId" = ${target!.userId}
      GROUP BY "trackId", "typeId" HAVING bool_or("mostRecent") AND min("eventDate") < max("eventDate")
      ORDER BY count(*) DESC LIMIT 1`.execute(db());
    const { latest, older } = group.rows[0]!;
    await sql`UPDATE members."memberStatsHistory" SET "mostRecent" = false WHERE id = ${latest}`.execute(db());
    await sql`UPDATE members."memberStatsHistory" SET "mostRecent" = true WHERE id = ${older}`.execute(db());
    // and the gate closes: evidence taken before a data change does not count (a flag swapped between two rows can
    // leave the watermark's sum of row hashes as it was, so a touched updatedAt makes sure)
    await sql`UPDATE members."memberStats" SET "updatedAt" = now() WHERE id = (SELECT min(id) FROM members."memberStats")`.execute(db());
    try {
      const h = await start(env.taskQueue, { actor: 'bob', reason: 'incident 42', force: true, members: 3 });
      const { cause, details } = await failed(h.result());
      expect(cause.type).toBe(Failure.SwitchVerificationFailed);
      expect(cause.nonRetryable).toBe(true);
      expect(cause.message).toContain(`member ${target!.userId}`);
      expect(await getReadSource(db())).toBe('legacy');
      expect(details).toMatchObject({
        stage: 'verify',
        forced: true,
        switched: { to: 'unified', changed: true },
        rolledBack: { to: 'legacy', changed: true },
      });
      expect(details!.switched!.reason).toMatch(/^\[forced past the parity gate: .*\] incident 42$/);
      expect(details!.verification).toMatchObject({ ok: false, via: 'store', detail: STORE_READ_PATH_NOTE });
      const member = details!.verification!.members.find((m) => m.userId === target!.userId)!;
      expect(member.ok).toBe(false);
      expect(member.problems.join(' ')).toMatch(/the mostRecent history row is dated .* but the latest eventDate is/);
      const [last] = await readSourceHistory(db(), 1);
      expect(last).toMatchObject({ to: 'legacy', actor: 'bob' });
      expect(last!.reason).toMatch(new RegExp(`^automatic rollback: unified reads failed verification \\(member ${target!.userId}: `));
      const ev = await evidenceRow(details!.evidenceId);
      expect(ev).toMatchObject({
        kind: 'switch',
        passed: false,
        input: { force: true, members: 3 },
        result: { via: 'store', rolledBack: { to: 'legacy' } },
      });
      expect(JSON.stringify(ev.result.verification)).toContain(`member ${target!.userId}`);
    } finally {
      await sql`UPDATE members."memberStatsHistory" SET "mostRecent" = false WHERE id = ${older}`.execute(db());
      await sql`UPDATE members."memberStatsHistory" SET "mostRecent" = true WHERE id = ${latest}`.execute(db());
    }
  });

  it('unified serving fewer history entries than legacy (through the API): rolled back, the member named', async () => {
    const target = (await knownRatedMembers(db(), 5))[1]!;
    const legacyCount = (await legacyHistory(db(), target.userId)).length;
    const unifiedCount = (await unifiedHistory(db(), names, target.userId)).length;
    expect(legacyCount).toBeGreaterThan(0);
    // the oldest non-mostRecent rows go, until unified has one entry fewer than legacy
    await sql`
      DELETE FROM members."memberStatsHistory" WHERE id IN (
        SELECT id FROM members."memberStatsHistory" WHERE "userId" = ${target.userId} AND NOT "mostRecent"
        ORDER BY "eventDate", id LIMIT ${unifiedCount - legacyCount + 1})`.execute(db());
    const h = await start(apiQueue, { actor: 'carol', reason: 'forced', force: true });
    const { cause, details } = await failed(h.result());
    expect(cause.type).toBe(Failure.SwitchVerificationFailed);
    expect(await getReadSource(db())).toBe('legacy');
    expect(details!.verification).toMatchObject({ ok: false, via: 'api' });
    expect(details!.verification!.problems).toContain(
      `member ${target.userId} (${target.handle}): ${legacyCount - 1} history entries from unified, ${legacyCount} from legacy (no fewer expected)`,
    );
    expect(details!.rolledBack).toMatchObject({ from: 'unified', to: 'legacy', changed: true });
    const ev = await evidenceRow(details!.evidenceId);
    expect(ev.passed).toBe(false);
    expect(ev.result.via).toBe('api');
    // the API followed the rollback
    await expect.poll(() => servedFrom(target.handle), { timeout: 5000 }).toBe('legacy');
  });
});
