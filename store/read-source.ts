import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import { InvalidSwitchError, SwitchInput, type ReadSourceAuditEntry, type ReadSource, type SwitchResult } from '../domain/read-source';

export type { ReadSource } from '../domain/read-source';

/** First start only: the read source comes from STATS_READ_SOURCE (default legacy); later starts keep the stored one. */
export async function initReadSource(db: Kysely<any>, initial: ReadSource): Promise<ReadSource> {
  await db.transaction().execute(async (tx) => {
    const inserted = await sql`
      INSERT INTO platform."readSource" (id, source, "updatedBy") VALUES (1, ${initial}, 'startup')
      ON CONFLICT (id) DO NOTHING RETURNING source`.execute(tx);
    if (inserted.rows.length > 0) {
      await sql`
        INSERT INTO platform."readSourceAudit" ("fromSource", "toSource", actor, reason)
        VALUES (NULL, ${initial}, 'startup', 'initialised from STATS_READ_SOURCE')`.execute(tx);
    }
  });
  return getReadSource(db);
}

export async function getReadSource(db: Kysely<any>): Promise<ReadSource> {
  const r = await sql<{ source: ReadSource }>`SELECT source FROM platform."readSource" WHERE id = 1`.execute(db);
  const row = r.rows[0];
  if (!row) throw new Error('read source is not initialised: run `npm run stack` (or any command that migrates) first');
  return row.source;
}

/**
 * Sets the read source and appends its audit row in one transaction (the row lock serialises concurrent switches,
 * so each audit row's `from` is what the switch really replaced). Switching to the current source is allowed — an
 * operator re-asserting "unified" during an incident must not fail — and is audited as a no-op (from = to,
 * changed: false) without touching the readSource row. Invalid input throws InvalidSwitchError.
 */
export async function switchReadSource(db: Kysely<any>, input: SwitchInput, opts: { note?: string } = {}): Promise<SwitchResult> {
  const { to, actor, reason } = parseSwitch(input, opts);
  return db.transaction().execute(async (tx) => {
    const from = await lockReadSource(tx);
    return switchLocked(tx, from, to, actor, reason);
  });
}

/**
 * switchReadSource once per `key` (a workflow run's step): the switch and a checkpoint row under `key` commit in one
 * transaction, so a retried step returns what the first attempt did instead of switching (and auditing) again.
 */
export async function switchReadSourceOnce(
  db: Kysely<any>,
  key: string,
  input: SwitchInput,
  opts: { note?: string } = {},
): Promise<SwitchResult> {
  const { to, actor, reason } = parseSwitch(input, opts);
  return db.transaction().execute(async (tx) => {
    // the row lock first: two attempts of one step cannot both miss the checkpoint
    const from = await lockReadSource(tx);
    const done = await sql<{ value: SwitchResult }>`SELECT value FROM platform.checkpoint WHERE key = ${key}`.execute(tx);
    if (done.rows[0]) return done.rows[0].value;
    const r = await switchLocked(tx, from, to, actor, reason);
    await sql`INSERT INTO platform.checkpoint (key, value) VALUES (${key}, ${JSON.stringify(r)}::jsonb)`.execute(tx);
    return r;
  });
}

function parseSwitch(input: SwitchInput, opts: { note?: string }): { to: ReadSource; actor: string; reason: string } {
  const parsed = SwitchInput.safeParse(input);
  if (!parsed.success) throw new InvalidSwitchError(parsed.error.issues.map((i) => i.message).join('; '));
  const { to, actor } = parsed.data;
  // our own note (a forced switch) comes on top of the operator's reason: its limit is the operator's alone
  const reason = opts.note ? `${opts.note} ${parsed.data.reason}` : parsed.data.reason;
  return { to, actor, reason };
}

async function lockReadSource(tx: Kysely<any>): Promise<ReadSource> {
  const cur = await sql<{ source: ReadSource }>`SELECT source FROM platform."readSource" WHERE id = 1 FOR UPDATE`.execute(tx);
  const from = cur.rows[0]?.source;
  if (!from) throw new Error('read source is not initialised: run `npm run stack` (or any command that migrates) first');
  return from;
}

async function switchLocked(tx: Kysely<any>, from: ReadSource, to: ReadSource, actor: string, reason: string): Promise<SwitchResult> {
  const changed = from !== to;
  if (changed) {
    await sql`UPDATE platform."readSource" SET source = ${to}, "updatedBy" = ${actor}, "updatedAt" = now() WHERE id = 1`.execute(tx);
  }
  const audit = await sql<{ id: number; at: Date }>`
    INSERT INTO platform."readSourceAudit" ("fromSource", "toSource", actor, reason)
    VALUES (${from}, ${to}, ${actor}, ${reason}) RETURNING id, at`.execute(tx);
  const row = audit.rows[0]!;
  return { from, to, changed, actor, reason, at: row.at.toISOString(), auditId: Number(row.id) };
}

/** The audit trail, newest first. */
export async function readSourceHistory(db: Kysely<any>, limit = 50): Promise<ReadSourceAuditEntry[]> {
  const n = z.number().int().min(1).max(10_000).parse(limit);
  const r = await sql<{ id: number; fromSource: ReadSource | null; toSource: ReadSource; actor: string; reason: string; at: Date }>`
    SELECT id, "fromSource", "toSource", actor, reason, at FROM platform."readSourceAudit"
    ORDER BY id DESC LIMIT ${n}`.execute(db);
  return r.rows.map((x) => ({
    id: Number(x.id),
    from: x.fromSource,
    to: x.toSource,
    actor: x.actor,
    reason: x.reason,
    at: x.at.toISOString(),
  }));
}

/** The read source as a running process sees it: cached, refreshed in the background. */
export interface ReadSourceReader {
  current(): ReadSource;
  /** reads the stored value now (e.g. right after a switch in the same process) */
  refresh(): Promise<ReadSource>;
  /** when the cache last matched the database; a growing gap means polls are failing */
  lastRefreshedAt(): Date;
  close(): void;
}

/**
 * Polling rather than LISTEN/NOTIFY: one primary-key read every `intervalMs` (default 250 ms) per process is
 * negligible, needs no dedicated connection or reconnect logic, and still catches switches made by anything that
 * writes the row (CLI, workflow, psql). A change is visible within intervalMs plus one query. A failed poll keeps
 * the last known source (reads keep being served) and reports through onError.
 */
export async function watchReadSource(
  db: Kysely<any>,
  opts: { intervalMs?: number; onError?: (e: Error) => void } = {},
): Promise<ReadSourceReader> {
  let source = await getReadSource(db);
  let refreshedAt = new Date();
  let inFlight: Promise<ReadSource> | undefined;
  const refresh = () =>
    (inFlight ??= getReadSource(db)
      .then((s) => {
        source = s;
        refreshedAt = new Date();
        return s;
      })
      .finally(() => {
        inFlight = undefined;
      }));
  const timer = setInterval(() => {
    refresh().catch((e: Error) => opts.onError?.(e));
  }, opts.intervalMs ?? 250);
  timer.unref(); // never keep a process alive on its own
  return {
    current: () => source,
    refresh,
    lastRefreshedAt: () => refreshedAt,
    close: () => clearInterval(timer),
  };
}
