import { sql, type Kysely } from 'kysely';

/** What preflight asks of the three databases, one question a function. */

export async function currentDatabase(db: Kysely<any>): Promise<string | undefined> {
  const r = await sql<{ db: string }>`SELECT current_database() AS db`.execute(db);
  return r.rows[0]?.db;
}

/** Columns of reviews."challengeResult" (none when the table is missing). */
export async function challengeResultColumns(reviews: Kysely<any>): Promise<Set<string>> {
  const r = await sql<{ column_name: string }>`
    SELECT column_name FROM information_schema.columns
    WHERE table_schema = 'reviews' AND table_name = 'challengeResult'`.execute(reviews);
  return new Set(r.rows.map((x) => x.column_name));
}

export async function challengeResultCount(reviews: Kysely<any>): Promise<number> {
  const n = await sql<{ n: number }>`SELECT count(*)::int AS n FROM reviews."challengeResult"`.execute(reviews);
  return n.rows[0]?.n ?? 0;
}

/** Which of these type and track names the challenges catalogue resolves. */
export async function catalogNamesPresent(
  challenges: Kysely<any>,
  types: readonly string[],
  tracks: readonly string[],
): Promise<{ types: Set<string>; tracks: Set<string> }> {
  const t = await sql<{ name: string }>`SELECT name FROM challenges."ChallengeType" WHERE name = ANY(${[...types]}::text[])`.execute(
    challenges,
  );
  const k = await sql<{ track: string }>`SELECT track FROM challenges."ChallengeTrack" WHERE track = ANY(${[...tracks]}::text[])`.execute(
    challenges,
  );
  return { types: new Set(t.rows.map((r) => r.name)), tracks: new Set(k.rows.map((r) => r.track)) };
}
