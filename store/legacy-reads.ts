import { sql, type Kysely } from 'kysely';
import { z } from 'zod';

/**
 * Counts requests answered from the legacy tables, per route per UTC day, in platform."legacyRead"
 * (migrations/0003-legacy-reads.ts). Counts are buffered in memory and flushed as one upsert every `flushMs`
 * (and on close) instead of an upsert per request: every legacy request would otherwise contend for the same row
 * lock. A crash loses at most one interval of counts — fine for "is the legacy path still used?".
 */
export class LegacyReadCounter {
  private pending = new Map<string, { route: string; day: string; count: number; last: Date }>();
  private flushing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly db: Kysely<any>,
    private readonly onError: (e: Error) => void = () => {},
    flushMs = 1000,
  ) {
    this.timer = setInterval(() => void this.flush().catch(this.onError), flushMs);
    this.timer.unref();
  }

  increment(route: string, now = new Date()): void {
    this.add(route, now.toISOString().slice(0, 10), 1, now);
  }

  private add(route: string, day: string, count: number, last: Date): void {
    const key = `${route} ${day}`;
    const cur = this.pending.get(key);
    if (!cur) this.pending.set(key, { route, day, count, last });
    else {
      cur.count += count;
      if (last > cur.last) cur.last = last;
    }
  }

  /** Writes what is buffered; flushes run one after another. On failure the counts go back into the buffer. */
  flush(): Promise<void> {
    this.flushing = this.flushing
      .catch(() => {})
      .then(async () => {
        if (this.pending.size === 0) return;
        const batch = [...this.pending.values()];
        this.pending = new Map();
        try {
          await sql`
          INSERT INTO platform."legacyRead" (route, day, count, "lastReadAt")
          VALUES ${sql.join(batch.map((b) => sql`(${b.route}, ${b.day}::date, ${b.count}, ${b.last})`))}
          ON CONFLICT (route, day) DO UPDATE SET
            count = platform."legacyRead".count + EXCLUDED.count,
            "lastReadAt" = GREATEST(platform."legacyRead"."lastReadAt", EXCLUDED."lastReadAt")`.execute(this.db);
        } catch (e) {
          for (const b of batch) this.add(b.route, b.day, b.count, b.last);
          throw e;
        }
      });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

export interface LegacyReadCount {
  total: number;
  /** the latest legacy read of any route, null when none was ever counted */
  lastReadAt: string | null;
  routes: Array<{ route: string; day: string; count: number; lastReadAt: string }>;
  /** the same summed over days, per route */
  perRoute: Array<{ route: string; count: number; lastReadAt: string }>;
}

/** Legacy reads counted so far (optionally only days from `sinceDay`, YYYY-MM-DD): the evidence that legacy is unused. */
export async function legacyReadCount(db: Kysely<any>, sinceDay?: string): Promise<LegacyReadCount> {
  if (sinceDay !== undefined) z.iso.date({ error: 'sinceDay must be a date YYYY-MM-DD' }).parse(sinceDay);
  const { rows } = await sql<{ route: string; day: string; count: number; lastReadAt: Date }>`
    SELECT route, to_char(day, 'YYYY-MM-DD') AS day, count, "lastReadAt" FROM platform."legacyRead"
    WHERE ${sinceDay === undefined ? sql`true` : sql`day >= ${sinceDay}::date`}
    ORDER BY day, route`.execute(db);
  const routes = rows.map((r) => ({ route: r.route, day: r.day, count: Number(r.count), lastReadAt: r.lastReadAt.toISOString() }));
  const last = routes.reduce<string | null>((m, r) => (m === null || r.lastReadAt > m ? r.lastReadAt : m), null);
  const byRoute = new Map<string, { route: string; count: number; lastReadAt: string }>();
  for (const r of routes) {
    const p = byRoute.get(r.route);
    byRoute.set(r.route, {
      route: r.route,
      count: (p?.count ?? 0) + r.count,
      lastReadAt: p && p.lastReadAt > r.lastReadAt ? p.lastReadAt : r.lastReadAt,
    });
  }
  return { total: routes.reduce((s, r) => s + r.count, 0), lastReadAt: last, routes, perRoute: [...byRoute.values()] };
}
