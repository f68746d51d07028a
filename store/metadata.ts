import { sql, type RawBuilder } from 'kysely';

/**
 * "This challenge is explicitly unrated" by its ChallengeMetadata (domain/rating/participants.ts isChallengeRated:
 * `rated` / `isRated` / `is_rated` false, or `unrated` true; names and values normalised) — as SQL over a
 * challenge id column, for statements that decide row by row.
 */
const unratedMetadata = () => {
  const name = sql`upper(regexp_replace(btrim(md.name), '[\\s-]+', '_', 'g'))`;
  const value = sql`lower(btrim(md.value))`;
  return sql`((${name} IN ('RATED', 'ISRATED', 'IS_RATED') AND ${value} IN ('false', '0')) OR (${name} = 'UNRATED' AND ${value} IN ('true', '1')))`;
};

export function explicitlyUnratedSql(challengeId: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`EXISTS (SELECT 1 FROM challenges."ChallengeMetadata" md WHERE md."challengeId" = ${challengeId} AND ${unratedMetadata()})`;
}

/** The same over every challenge at once: the explicitly unrated ids, for `id IN (…)` (one pass over the metadata). */
export function explicitlyUnratedIds(): RawBuilder<unknown> {
  return sql`SELECT md."challengeId" FROM challenges."ChallengeMetadata" md WHERE ${unratedMetadata()}`;
}
