import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATES, type GateId } from '../domain/gates';
import { PARITY_CATEGORIES } from '../domain/parity';
import { migrateToLatest } from '../migrations';
import { createMembersSource } from '../scripts/seed/source-schema';
import { openDatabases, type Databases } from '../store/db';
import {
  currentGates,
  evidenceById,
  legacyReadsBetween,
  legacyUnusedDuring,
  listEvidence,
  NEWEST_PER_KIND,
  type GatesReport,
} from '../store/gates';
import { dataWatermark } from '../store/parity/watermark';
import { cli } from './support/cli';
import { createTestDatabase, testConfig } from './support/db';
import { UsageError } from '../scripts/cli-support';
import { formatEvidence, formatEvidenceList, parseEvidenceFlags, parseGatesFlags } from '../scripts/commands/gates';

/** The gates over evidence rows this test inserts (createdAt chosen), read back by the store and by the CLI. */
describe('go/no-go gates from stored evidence', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let dbs: Databases;
  let watermark: string;
  let seq = 0;
  const t0 = Date.parse('2025-02-01T00:00:00Z');
  const at = (min: number) => new Date(t0 + min * 60_000).toISOString();

  async function insert(
    kind: string,
    e: { passed?: boolean; input?: unknown; result?: unknown; watermark?: string; at?: string },
  ): Promise<number> {
    const n = ++seq;
    const r = await sql<{ id: number }>`
      INSERT INTO platform.evidence (kind, "workflowId", "runId", passed, input, result, "dataWatermark", "createdAt")
      VALUES (${kind}, ${`test/${kind}/${n}`}, ${`run-${n}`}, ${e.passed ?? true}, ${JSON.stringify(e.input ?? {})}::jsonb,
              ${JSON.stringify(e.result ?? {})}::jsonb, ${e.watermark ?? null}, ${e.at ?? at(n)}::timestamptz)
      RETURNING id`.execute(dbs.members);
    return r.rows[0]!.id;
  }
  const categories = (counts: Record<string, number> = {}) =>
    Object.fromEntries(PARITY_CATEGORIES.map((c) => [c, { count: counts[c] ?? 0, examples: [], ms: 1 }]));
  const parityRun = (o: { mode: 'sample' | 'full'; seed: string; counts?: Record<string, number>; watermark?: string }) =>
    insert('parity', {
      passed: Object.values(o.counts ?? {}).every((c) => c === 0),
      watermark: o.watermark ?? watermark,
      input: {
        mode: o.mode,
        seed: o.seed,
        ...(o.mode === 'sample' ? { samples: 50 } : {}),
        sampleHash: `h-${o.seed}`,
        coversAllMembers: false,
        membersInScope: 50,
        shapeSamples: 20,
        watermark: { start: { value: watermark, tables: {} }, end: watermark },
      },
      result: { passed: true, categories: categories(o.counts) },
    });
  const gate = (r: GatesReport, id: GateId) => r.gates.find((g) => g.gate === id)!;

  const ids: Record<string, number> = {};
  beforeAll(async () => {
    db = await createTestDatabase('gates');
    dbs = openDatabases(testConfig(db.url));
    await createMembersSource(dbs.members);
    await migrateToLatest(dbs.members);
    watermark = (await dataWatermark(dbs.members)).value;
  });
  afterAll(async () => {
    await dbs?.close();
    await db?.drop();
  });

  it('nothing stored: no gate holds, go is false', async () => {
    const r = await currentGates(dbs.members);
    expect(r.gates.map((g) => g.gate)).toEqual([...GATES]);
    expect(r).toMatchObject({ go: false, failing: [...GATES], since: null, currentWatermark: watermark });
  });

  it('reads parity evidence on the current data (results loaded for the counted runs only) and the other kinds', async () => {
    await parityRun({ mode: 'full', seed: 'stale', watermark: 'other-data', counts: { 'most-recent-violations': 9 } });
    ids.sampleA = await parityRun({ mode: 'sample', seed: 'a' });
    let r = await currentGates(dbs.members, { watermark });
    expect(gate(r, 'parity')).toMatchObject({ holds: false, evidenceIds: [ids.sampleA] });
    // the stale run's 9 violations are not read; the counted sample's categories are
    expect(gate(r, 'most-recent')).toMatchObject({ holds: true, evidenceIds: [ids.sampleA] });
    expect(gate(r, 'response-shape')).toMatchObject({ holds: true, evidenceIds: [ids.sampleA] });

    ids.sampleB = await parityRun({ mode: 'sample', seed: 'b' });
    ids.refreshApi = await insert('refresh', { input: { challengeId: 'c-1', clientId: 'autopilot-v6', via: 'api' } });
    // many newer refreshes by the reconciler: the M2M one is still found (a bounded search of its own)
    for (let i = 0; i < NEWEST_PER_KIND + 5; i++)
      await insert('refresh', { input: { challengeId: `c-r${i}`, clientId: 'reconciler', via: 'reconciler' } });
    ids.develop = await insert('rerate', {
      input: { stream: 'develop', preview: false },
      result: { stream: 'develop', plan: { chunks: 3 } },
    });
    ids.promote = await insert('rerate', { input: { runKey: 'p-1' }, result: { stream: 'marathon', promotedFrom: 'p-1' } });
    ids.reportsBad = await insert('reports', { passed: false, result: { problems: ['mm: 3 rated member(s) without a unified rating'] } });
    r = await currentGates(dbs.members);
    expect(gate(r, 'parity')).toMatchObject({ holds: true, evidenceIds: [ids.sampleA, ids.sampleB] });
    expect(gate(r, 'non-null')).toMatchObject({ holds: true, evidenceIds: [ids.sampleA, ids.sampleB] });
    expect(gate(r, 'refresh-m2m')).toMatchObject({ holds: true, evidenceIds: [ids.refreshApi] });
    expect(gate(r, 'rerate-develop')).toMatchObject({ holds: true, evidenceIds: [ids.develop] });
    expect(gate(r, 'rerate-marathon')).toMatchObject({
      holds: true,
      evidenceIds: [ids.promote],
      reason: expect.stringMatching(/promoted preview p-1/),
    });
    // the reason carries the result's problems (the store loads only the fields the gates read)
    expect(gate(r, 'reports')).toMatchObject({
      holds: false,
      reason: expect.stringMatching(/mm: 3 rated member\(s\) without a unified rating/),
    });
    expect(r).toMatchObject({ go: false, failing: ['reports'] });

    ids.reports = await insert('reports', { passed: true });
    r = await currentGates(dbs.members);
    expect(r).toMatchObject({ go: true, failing: [] });
  });

  it('since: evidence created before it does not count; parity keeps its current-data rule', async () => {
    const since = at(seq - 1); // after everything but the last reports run
    const r = await currentGates(dbs.members, { since });
    expect(r.since).toBe(new Date(since).toISOString());
    expect(gate(r, 'parity').holds).toBe(true);
    expect(gate(r, 'refresh-m2m').holds).toBe(false);
    expect(gate(r, 'rerate-develop').holds).toBe(false);
    expect(gate(r, 'reports')).toMatchObject({ holds: true, evidenceIds: [ids.reports] });
  });

  it('a parity run that found differences on the current data blocks parity and the category it found them in', async () => {
    const bad = await parityRun({ mode: 'sample', seed: 'c', counts: { 'non-null-rows': 2 } });
    const r = await currentGates(dbs.members);
    expect(gate(r, 'parity')).toMatchObject({ holds: false, evidenceIds: [bad] });
    expect(gate(r, 'non-null')).toMatchObject({ holds: false, evidenceIds: [bad] });
    expect(gate(r, 'most-recent')).toMatchObject({ holds: true, evidenceIds: [bad] });
    await sql`DELETE FROM platform.evidence WHERE id = ${bad}`.execute(dbs.members);
  });

  it('legacy reads: the rows of the window’s days, judged by lastReadAt', async () => {
    await sql`
      INSERT INTO platform."legacyRead" (route, day, count, "lastReadAt") VALUES
        ('GET /members/:handle/stats', '2025-03-09', 12, '2025-03-09T20:00:00Z'),
        ('GET /members/:handle/stats', '2025-03-10', 5, '2025-03-10T11:59:59Z'),
        ('GET /members/:handle/stats/history', '2025-03-11', 1, '2025-03-11T08:00:00Z'),
        ('GET /members/:handle/stats', '2025-03-14', 3, '2025-03-14T08:00:00Z')`.execute(dbs.members);
    const rows = await legacyReadsBetween(dbs.members, '2025-03-10T12:00:00Z', '2025-03-12T12:00:00Z');
    expect(rows.map((r) => r.day)).toEqual(['2025-03-10', '2025-03-11']);
    expect(rows[0]).toEqual({ route: 'GET /members/:handle/stats', day: '2025-03-10', count: 5, lastReadAt: '2025-03-10T11:59:59.000Z' });
    const used = await legacyUnusedDuring(dbs.members, { start: '2025-03-10T12:00:00Z', end: '2025-03-12T12:00:00Z' });
    expect(used).toMatchObject({ holds: false, used: [{ route: 'GET /members/:handle/stats/history', day: '2025-03-11' }] });
    // a window after the history read, starting on the same day: the same-day earlier reads do not count
    expect((await legacyUnusedDuring(dbs.members, { start: '2025-03-11T08:00:01Z', end: '2025-03-13T00:00:00Z' })).holds).toBe(true);
    expect((await legacyUnusedDuring(dbs.members, { start: '2025-03-11T08:00:00Z', end: '2025-03-13T00:00:00Z' })).holds).toBe(false);
  });

  it('lists evidence newest first, by kind, and shows one in full', async () => {
    const list = await listEvidence(dbs.members, { kind: 'rerate', limit: 5 });
    expect(list.map((e) => e.id)).toEqual([ids.promote, ids.develop]);
    expect(list[0]).toMatchObject({ kind: 'rerate', passed: true, workflowId: expect.stringMatching(/^test\/rerate\//) });
    expect(await listEvidence(dbs.members, { limit: 3 })).toHaveLength(3);
    const one = await evidenceById(dbs.members, ids.develop!);
    expect(one).toMatchObject({ id: ids.develop, kind: 'rerate', result: { stream: 'develop', plan: { chunks: 3 } } });
    expect(formatEvidence(one!)).toMatch(new RegExp(`^evidence #${ids.develop} — rerate, passed.*\\ninput:\\n.*"chunks": 3`, 's'));
    expect(formatEvidenceList(list)).toMatch(new RegExp(`#${ids.promote}\\s+rerate\\s+yes`));
    // each line names its workflow and run: runs of one workflow id are told apart
    expect(formatEvidenceList(list)).toContain(`${list[0]!.workflowId} (${list[0]!.runId})`);
    expect(await evidenceById(dbs.members, 987654)).toBeUndefined();
  });

  it('flags: validated with messages saying how to fix them (UsageError → exit 2)', () => {
    expect(() => parseGatesFlags({ since: 'yesterday' })).toThrow(UsageError);
    expect(() => parseGatesFlags({ since: 'yesterday' })).toThrow(/--since must be an ISO time such as 2025-01-31T12:00:00Z/);
    expect(() => parseGatesFlags({ since: '2999-01-01T00:00:00Z' })).toThrow(/--since is in the future/);
    expect(parseGatesFlags({ since: '2025-01-31' })).toEqual({ since: '2025-01-31T00:00:00.000Z', json: false });
    expect(parseEvidenceFlags('12', { json: true })).toEqual({ id: 12, json: true });
    expect(parseEvidenceFlags(undefined, { kind: 'rerate-member', limit: '50' })).toMatchObject({ kind: 'rerate-member', limit: 50 });
    expect(() => parseEvidenceFlags(undefined, { limit: '0' })).toThrow(/--limit must be at least 1/);
    expect(() => parseEvidenceFlags(undefined, { limit: '1001' })).toThrow(/--limit must be at most 1000/);
    expect(() => parseEvidenceFlags(undefined, { limit: 'ten' })).toThrow(/--limit must be a whole number/);
    expect(() => parseEvidenceFlags(undefined, { kind: 'Parity;' })).toThrow(/--kind must be an evidence kind/);
    expect(() => parseEvidenceFlags('x', {})).toThrow(/the evidence id must be a whole number/);
    expect(() => parseEvidenceFlags('5', { kind: 'parity' })).toThrow(/--kind and --limit apply to the list/);
  });

  it('CLI: gates exits 0 when every gate holds, 1 otherwise; an unknown evidence id exits 2 (UsageError)', async () => {
    const env = { DATABASE_URL: db.url, LOG_LEVEL: 'silent' };
    const [table, since, unknown] = await Promise.all([
      cli(['gates'], env),
      cli(['gates', '--since', new Date().toISOString(), '--json'], env),
      cli(['evidence', '987654'], env),
    ]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/Go\/No-Go: GO — every gate holds/);
    expect(table.stdout).toMatch(new RegExp(`parity\\s+holds\\s+#${ids.sampleA},#${ids.sampleB}\\s+clean sampled runs`));

    expect(since.code, since.stderr).toBe(1);
    expect(JSON.parse(since.stdout)).toMatchObject({ go: false, failing: ['refresh-m2m', 'rerate-develop', 'rerate-marathon', 'reports'] });

    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no evidence #987654: `npm run cutover -- evidence` lists the recent ones/);
  });
});
