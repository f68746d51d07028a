import { sql, type Kysely } from 'kysely';

/** Member order for sampling: md5(seed:userId), so a seed names one sample and repeating it repeats the sample. */
const seededOrder = (seed: string) => sql`md5(${seed} || ':' || "userId"::text), "userId"`;

export async function memberCount(db: Kysely<any>): Promise<number> {
  return (await sql<{ n: number }>`SELECT count(*)::int AS n FROM members."member"`.execute(db)).rows[0]!.n;
}

export async function memberExists(db: Kysely<any>, userId: number): Promise<boolean> {
  const r = await sql<{ userId: number }>`SELECT "userId" FROM members."member" WHERE "userId" = ${userId}`.execute(db);
  return r.rows.length > 0;
}

/** The first `limit` members in the seed's order: the seed names the sample. */
export async function seededSample(db: Kysely<any>, seed: string, limit: number): Promise<number[]> {
  const r = await sql<{ userId: number }>`SELECT "userId" FROM members."member" ORDER BY ${seededOrder(seed)} LIMIT ${limit}`.execute(db);
  return r.rows.map((x) => x.userId);
}

/** md5 of the sorted ids: "different samples" means different hashes. */
export async function sampleHash(db: Kysely<any>, ids: number[]): Promise<string> {
  const h = await sql<{ h: string }>`SELECT md5(array_to_string(array(SELECT unnest(${ids}::bigint[]) ORDER BY 1), ',')) AS h`.execute(db);
  return h.rows[0]!.h;
}
