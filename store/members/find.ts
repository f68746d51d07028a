import { sql, type Kysely } from 'kysely';

export interface MemberRef {
  userId: number;
  handle: string;
  handleLower: string;
}

/** A member by handle, case-insensitively (the lowest userId if a handle was ever reused). */
export async function findMember(db: Kysely<any>, handle: string): Promise<MemberRef | undefined> {
  const r = await sql<MemberRef>`
    SELECT "userId", handle, "handleLower" FROM members."member"
    WHERE "handleLower" = ${handle.toLowerCase()} ORDER BY "userId" LIMIT 1`.execute(db);
  return r.rows[0];
}

/** Members by id (those that exist), by userId. */
export async function membersById(db: Kysely<any>, userIds: number[]): Promise<MemberRef[]> {
  if (userIds.length === 0) return [];
  const r = await sql<MemberRef>`
    SELECT "userId", handle, "handleLower" FROM members."member" WHERE "userId" = ANY(${userIds}::bigint[]) ORDER BY "userId"`.execute(db);
  return r.rows;
}

/** Of these ids, those with a member row, in id order. */
export async function existingMembers(db: Kysely<any>, userIds: number[]): Promise<number[]> {
  if (userIds.length === 0) return [];
  const r = await sql<{ userId: number }>`
    SELECT "userId" FROM members."member" WHERE "userId" = ANY(${userIds}::bigint[]) ORDER BY 1`.execute(db);
  return r.rows.map((x) => x.userId);
}
