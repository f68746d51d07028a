import { sql, type Kysely, type Migration, type RawBuilder } from 'kysely';

/**
 * Change capture for parity under live traffic. Every statement that writes a table the parity data watermark
 * covers (store/parity/watermark.ts) marks the members it touched in platform."changedMember", under its
 * transaction id (xid8): a parity run records the snapshot it started from and defers the findings of members
 * changed since (pg_visible_in_snapshot), and a re-check compares exactly those members later.
 *
 * - Statement-level AFTER triggers with transition tables (one per event: Postgres forbids transition tables on
 *   multi-event triggers) insert the DISTINCT members of the statement's rows — their own "userId", or their
 *   parent's for the legacy item and history tables — once per transaction (UNIQUE (xid, "userId")).
 * - Off until parity enables it: the trigger function reads the one-row flag platform."changeCapture" first, so a
 *   backfill before parity pays one lookup per statement. The legacy tables are the seed's (a reseed drops them,
 *   triggers included): platform."installChangeCapture"() creates whatever triggers are missing on the tables that
 *   exist, and parity's prepare calls it each run (store/parity/changes.ts).
 * - `epoch` counts the moments changes may have gone unmarked: capture enabled or (re)installed, a compared table
 *   truncated (TRUNCATE fires no row events). A re-check whose base started in another epoch compares every member.
 * - SECURITY DEFINER: writers of the legacy tables (the legacy pipeline's role) need no rights on platform.
 */

/** The watermark's tables (store/parity/watermark.ts) and how a row names its member: its "userId", or its parent's. */
export const CAPTURED_TABLES: readonly { table: string; parent?: { table: string; key: string } }[] = [
  { table: 'memberStats' },
  { table: 'memberStatsHistory' },
  { table: 'memberMaxRating' },
  { table: 'member' },
  { table: 'memberDevelopStats' },
  { table: 'memberDevelopStatsItem', parent: { table: 'memberDevelopStats', key: 'developStatsId' } },
  { table: 'memberDesignStats' },
  { table: 'memberDesignStatsItem', parent: { table: 'memberDesignStats', key: 'designStatsId' } },
  { table: 'memberDataScienceStats' },
  { table: 'memberSrmStats', parent: { table: 'memberDataScienceStats', key: 'dataScienceStatsId' } },
  { table: 'memberMarathonStats', parent: { table: 'memberDataScienceStats', key: 'dataScienceStatsId' } },
  { table: 'memberHistoryStats' },
  { table: 'memberDevelopHistoryStats', parent: { table: 'memberHistoryStats', key: 'historyStatsId' } },
  { table: 'memberDataScienceHistoryStats', parent: { table: 'memberHistoryStats', key: 'historyStatsId' } },
];

const EVENTS: readonly { name: string; event: RawBuilder<unknown>; referencing: RawBuilder<unknown> | null }[] = [
  { name: 'changedMember_insert', event: sql`INSERT`, referencing: sql`REFERENCING NEW TABLE AS new_rows` },
  { name: 'changedMember_update', event: sql`UPDATE`, referencing: sql`REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows` },
  { name: 'changedMember_delete', event: sql`DELETE`, referencing: sql`REFERENCING OLD TABLE AS old_rows` },
  { name: 'changedMember_truncate', event: sql`TRUNCATE`, referencing: null },
];

/** One IF block of the installer: the trigger, when its table exists and it does not. */
function installBlock(t: (typeof CAPTURED_TABLES)[number], e: (typeof EVENTS)[number]): RawBuilder<unknown> {
  const qualified = `members.${t.table}`;
  const args = t.parent ? sql`${sql.lit(t.parent.table)}, ${sql.lit(t.parent.key)}` : sql``;
  return sql`
  IF to_regclass(${sql.lit(`members."${t.table}"`)}) IS NOT NULL AND NOT EXISTS (
       SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = to_regclass(${sql.lit(`members."${t.table}"`)}) AND tgname = ${sql.lit(e.name)}) THEN
    CREATE TRIGGER ${sql.id(e.name)} AFTER ${e.event} ON ${sql.table(qualified)} ${e.referencing ?? sql``}
      FOR EACH STATEMENT EXECUTE FUNCTION platform."captureChangedMembers"(${args});
    created := created + 1;
  END IF;`;
}

/**
 * The capture trigger's function. ranksOnlyExempt (migrations/0014): an UPDATE statement marked with the
 * transaction-local setting cutover.capture = 'ranks-only' (a whole re-ranking) is not captured.
 */
export function captureFunction(opts: { ranksOnlyExempt: boolean }): RawBuilder<unknown> {
  const ranksOnly = opts.ranksOnlyExempt
    ? sql`IF TG_OP = 'UPDATE' AND current_setting('cutover.capture', true) = 'ranks-only' THEN
          RETURN NULL;
        END IF;`
    : sql``;
  return sql`
      CREATE OR REPLACE FUNCTION platform."captureChangedMembers"() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
      DECLARE
        key text := CASE WHEN TG_NARGS = 0 THEN '"userId"' ELSE quote_ident(TG_ARGV[1]) END;
        keys text;
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM platform."changeCapture" WHERE enabled) THEN
          RETURN NULL;
        END IF;
        ${ranksOnly}
        IF TG_OP = 'TRUNCATE' THEN
          UPDATE platform."changeCapture" SET epoch = epoch + 1;
          RETURN NULL;
        END IF;
        keys := CASE TG_OP
          WHEN 'INSERT' THEN format('SELECT %s AS k FROM new_rows', key)
          WHEN 'DELETE' THEN format('SELECT %s AS k FROM old_rows', key)
          ELSE format('SELECT %s AS k FROM new_rows UNION SELECT %s FROM old_rows', key, key) END;
        IF TG_NARGS = 0 THEN
          EXECUTE format('INSERT INTO platform."changedMember" ("userId", "table") SELECT DISTINCT r.k, %L FROM (%s) r '
                         'WHERE r.k IS NOT NULL ON CONFLICT DO NOTHING', TG_TABLE_NAME, keys);
        ELSE
          EXECUTE format('INSERT INTO platform."changedMember" ("userId", "table") SELECT DISTINCT p."userId", %L FROM (%s) r '
                         'JOIN %I.%I p ON p.id = r.k WHERE p."userId" IS NOT NULL ON CONFLICT DO NOTHING',
                         TG_TABLE_NAME, keys, TG_TABLE_SCHEMA, TG_ARGV[0]);
        END IF;
        RETURN NULL;
      END $fn$`;
}

export const changedMembers: Migration = {
  async up(db: Kysely<any>) {
    await sql`
      CREATE TABLE IF NOT EXISTS platform."changedMember" (
        "userId" BIGINT NOT NULL,
        xid XID8 NOT NULL DEFAULT pg_current_xact_id(),
        at TIMESTAMPTZ NOT NULL DEFAULT now(),
        "table" TEXT NOT NULL
      )`.execute(db);
    // "changed since snapshot S": xid ≥ xmin(S) is a range of this index (every older xid is visible in S)
    await sql`CREATE UNIQUE INDEX IF NOT EXISTS "changedMember_xid_userId" ON platform."changedMember" (xid, "userId")`.execute(db);
    // a run's start looks back a grace period (domain/parity.ts LIVE_LAG_GRACE_SECONDS) by time
    await sql`CREATE INDEX IF NOT EXISTS "changedMember_at" ON platform."changedMember" ("at")`.execute(db);
    await sql`
      CREATE TABLE IF NOT EXISTS platform."changeCapture" (
        id BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
        enabled BOOLEAN NOT NULL DEFAULT false,
        epoch INT NOT NULL DEFAULT 0,
        "enabledAt" TIMESTAMPTZ
      )`.execute(db);
    await sql`INSERT INTO platform."changeCapture" (id) VALUES (true) ON CONFLICT DO NOTHING`.execute(db);
    await captureFunction({ ranksOnlyExempt: false }).execute(db);
    const blocks = CAPTURED_TABLES.flatMap((t) => EVENTS.map((e) => installBlock(t, e)));
    await sql`
      CREATE OR REPLACE FUNCTION platform."installChangeCapture"() RETURNS integer
      LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
      DECLARE created integer := 0;
      BEGIN
        ${sql.join(blocks, sql`\n`)}
        RETURN created;
      END $fn$`.execute(db);
    await sql`SELECT platform."installChangeCapture"()`.execute(db);
  },
  async down(db: Kysely<any>) {
    for (const t of CAPTURED_TABLES) {
      for (const e of EVENTS) {
        const r = await sql<{ ok: boolean }>`SELECT to_regclass(${`members."${t.table}"`}) IS NOT NULL AS ok`.execute(db);
        if (r.rows[0]?.ok) await sql`DROP TRIGGER IF EXISTS ${sql.id(e.name)} ON ${sql.table(`members.${t.table}`)}`.execute(db);
      }
    }
    await sql`DROP FUNCTION IF EXISTS platform."installChangeCapture"()`.execute(db);
    await sql`DROP FUNCTION IF EXISTS platform."captureChangedMembers"()`.execute(db);
    await sql`DROP TABLE IF EXISTS platform."changeCapture"`.execute(db);
    await sql`DROP TABLE IF EXISTS platform."changedMember"`.execute(db);
  },
};
