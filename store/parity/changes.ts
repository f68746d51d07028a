import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { StoredParityInput, type ParityStart } from '../../domain/parity';

/**
 * Change capture (migrations/0012-changed-members.ts): which members the writes to the compared tables touched,
 * under their transaction ids, so a parity run can tell "changed since my snapshot" from "as it was".
 */

/** SELECT "userId" of the members changed since `snapshot` (by transactions not visible in it), each once. */
export function changedSince(snapshot: string): RawBuilder<unknown> {
  // every xid below the snapshot's xmin is visible in it: the range keeps the scan on the index's recent end
  return sql`
    SELECT DISTINCT "userId" FROM platform."changedMember"
    WHERE xid >= pg_snapshot_xmin(${snapshot}::pg_snapshot) AND NOT pg_visible_in_snapshot(xid, ${snapshot}::pg_snapshot)`;
}

export interface CaptureState {
  epoch: number;
  enabledAt: string;
}

/** Serialises enabling (two prepares at once would both create the missing triggers). */
const ENABLE_LOCK = 4_242_001_812;

/**
 * Turns change capture on, idempotently: creates the triggers missing on the compared tables (a reseed drops the
 * legacy ones), sets the flag, and — when either changed anything — starts a new epoch. Then waits until every
 * transaction begun before capture was on has ended: such a transaction may have written without being captured
 * (its trigger read the flag before it was set), and a snapshot taken while it is open would not see its writes
 * either, so only after it ends is "not visible in my snapshot ⇒ captured" true. Usually that wait is one query.
 * Needs the TRIGGER privilege on the legacy tables; without it returns `{ off }` saying why.
 */
export async function enableChangeCapture(
  db: Kysely<any>,
  opts: { waitMs?: number; pollMs?: number } = {},
): Promise<CaptureState | { off: string }> {
  try {
    await db.transaction().execute(async (tx) => {
      await sql`SELECT pg_advisory_xact_lock(${ENABLE_LOCK})`.execute(tx);
      const created = (await sql<{ n: number }>`SELECT platform."installChangeCapture"() AS n`.execute(tx)).rows[0]!.n;
      await sql`
        UPDATE platform."changeCapture" SET enabled = true, epoch = epoch + 1, "enabledAt" = NULL
        WHERE NOT enabled OR ${created}::int > 0`.execute(tx);
    });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === '42501') return { off: `change capture needs the TRIGGER privilege on the compared tables: ${(e as Error).message}` };
    throw e;
  }
  // its own transaction, so now() comes after the enabling commit
  await sql`UPDATE platform."changeCapture" SET "enabledAt" = now() WHERE "enabledAt" IS NULL`.execute(db);
  const deadline = Date.now() + (opts.waitMs ?? 60_000);
  for (;;) {
    const open = await sql<{ pid: number; state: string | null; xactStart: Date }>`
      SELECT a.pid, a.state, a.xact_start AS "xactStart" FROM pg_stat_activity a, platform."changeCapture" c
      WHERE a.datname = current_database() AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
        AND a.xact_start < c."enabledAt"
      ORDER BY a.xact_start LIMIT 5`.execute(db);
    if (open.rows.length === 0) break;
    if (Date.now() > deadline) {
      const which = open.rows.map((r) => `pid ${r.pid} (${r.state ?? '?'} since ${r.xactStart.toISOString()})`).join(', ');
      throw new Error(`change capture: transactions begun before capture was enabled are still open: ${which}`);
    }
    await sleep(opts.pollMs ?? 200);
  }
  const r = await sql<{ epoch: number; enabledAt: Date }>`SELECT epoch, "enabledAt" FROM platform."changeCapture"`.execute(db);
  return { epoch: r.rows[0]!.epoch, enabledAt: r.rows[0]!.enabledAt.toISOString() };
}

/**
 * The point a run starts from: the current snapshot, a time no later than it (statement_timestamp()) and the
 * capture epoch as of it, in one statement. Take it after enableChangeCapture.
 *
 * Live traffic is two writes apart: the legacy pipeline writes the legacy tables, and our refresh follows a moment
 * later. A member whose legacy side changed just before the snapshot and whose refresh is still in flight would be
 * a finding of lag, not of drift. So the cutover's runs move the point back by `graceSeconds`: every transaction from the
 * earliest one captured within the grace on counts as "changed since" (the snapshot's xmax is lowered to it), and
 * the run covers the data as of that earlier time — its members are deferred, and re-checked from it.
 */
export async function parityStart(db: Kysely<any>, graceSeconds = 0): Promise<ParityStart> {
  const r = await sql<{ snapshot: string; at: Date; epoch: number }>`
    WITH s AS (SELECT pg_current_snapshot() AS snap, statement_timestamp() AS now),
    recent AS (
      SELECT min(c.xid) AS x FROM platform."changedMember" c, s
      WHERE ${graceSeconds} > 0 AND c."at" > s.now - make_interval(secs => ${graceSeconds}))
    SELECT CASE WHEN recent.x IS NULL OR recent.x >= pg_snapshot_xmax(s.snap) THEN s.snap::text
                ELSE concat_ws(':', least(pg_snapshot_xmin(s.snap), recent.x)::text, recent.x::text,
                       COALESCE((SELECT string_agg(x::text, ',' ORDER BY x) FROM pg_snapshot_xip(s.snap) x WHERE x < recent.x), ''))
           END AS snapshot,
           CASE WHEN recent.x IS NULL THEN s.now ELSE s.now - make_interval(secs => ${graceSeconds}) END AS at,
           (SELECT epoch FROM platform."changeCapture") AS epoch
    FROM s, recent`.execute(db);
  const row = r.rows[0]!;
  return { snapshot: row.snapshot, snapshotAt: row.at.toISOString(), epoch: row.epoch };
}

/** Members (present in `member`) changed since `snapshot`, ascending, at most `limit`. */
export async function changedMembersSince(db: Kysely<any>, snapshot: string, limit: number): Promise<number[]> {
  const r = await sql<{ userId: number }>`
    SELECT c."userId" FROM (${changedSince(snapshot)}) c JOIN members."member" m ON m."userId" = c."userId"
    ORDER BY 1 LIMIT ${limit}`.execute(db);
  return r.rows.map((x) => x.userId);
}

/** Of these members, the ones changed since `snapshot`. */
export async function changedAmong(db: Kysely<any>, snapshot: string, userIds: readonly number[]): Promise<Set<number>> {
  if (userIds.length === 0) return new Set();
  const r = await sql<{ userId: number }>`
    SELECT c."userId" FROM (${changedSince(snapshot)}) c WHERE c."userId" = ANY(${[...userIds]}::bigint[])`.execute(db);
  return new Set(r.rows.map((x) => x.userId));
}

/** The start point a parity evidence row recorded; undefined when there is no such parity evidence. */
export async function parityEvidenceStart(db: Kysely<any>, id: number): Promise<{ start?: ParityStart; mode: string } | undefined> {
  const r = await sql<{ input: unknown }>`SELECT input FROM platform.evidence WHERE id = ${id} AND kind = 'parity'`.execute(db);
  if (!r.rows[0]) return undefined;
  const parsed = StoredParityInput.safeParse(r.rows[0].input);
  if (!parsed.success) return { mode: 'unknown' };
  const { snapshot, snapshotAt, epoch, mode } = parsed.data;
  return snapshot && snapshotAt && epoch !== undefined ? { mode, start: { snapshot, snapshotAt, epoch } } : { mode };
}
