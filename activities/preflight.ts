import { ApplicationFailure } from '@temporalio/activity';
import { sql, type Kysely } from 'kysely';
import { REQUIRED_LEGACY_TYPES, TRACKS } from '../domain/catalog';
import { CHALLENGE_RESULT_COLUMNS, REVIEW_SCHEMA_MISSING, type CheckResult } from '../domain/preflight';
import { getReadSource } from '../lib/read-source';
import type { ActivityDeps } from './deps';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function preflightActivities({ dbs, config }: ActivityDeps) {
  return {
    /** Each of the three databases answers. */
    async preflightDatabases(): Promise<CheckResult[]> {
      const roles: Array<[string, string, Kysely<any>]> = [
        ['members', 'DATABASE_URL', dbs.members],
        ['challenges', 'CHALLENGES_DB_URL', dbs.challenges],
        ['reviews', 'REVIEW_DB_URL', dbs.reviews],
      ];
      return Promise.all(
        roles.map(async ([role, variable, db]): Promise<CheckResult> => {
          try {
            const r = await sql<{ db: string }>`SELECT current_database() AS db`.execute(db);
            return { name: `database:${role}`, passed: true, detail: `connected to "${r.rows[0]?.db}"` };
          } catch (e) {
            return { name: `database:${role}`, passed: false, detail: `${variable}: ${message(e)}` };
          }
        }),
      );
    },

    /** The review database must expose challengeResult: without it nothing can be backfilled or rated. */
    async preflightReviewSchema(): Promise<CheckResult> {
      const r = await sql<{ column_name: string }>`
        SELECT column_name FROM information_schema.columns
        WHERE table_schema = 'reviews' AND table_name = 'challengeResult'`.execute(dbs.reviews);
      if (r.rows.length === 0) {
        throw ApplicationFailure.nonRetryable(REVIEW_SCHEMA_MISSING, 'ReviewSchemaMissing');
      }
      const present = new Set(r.rows.map((x) => x.column_name));
      const missing = CHALLENGE_RESULT_COLUMNS.filter((c) => !present.has(c));
      if (missing.length > 0) {
        throw ApplicationFailure.nonRetryable(
          `reviews."challengeResult" (REVIEW_DB_URL) lacks columns ${missing.join(', ')}: deploy the current review migrations, or fix REVIEW_DB_URL.`,
          'ReviewSchemaMissing',
        );
      }
      const n = await sql<{ n: number }>`SELECT count(*)::int AS n FROM reviews."challengeResult"`.execute(dbs.reviews);
      return { name: 'review:challengeResult', passed: true, detail: `present with ${n.rows[0]?.n ?? 0} rows` };
    },

    /** Hidden legacy challenge types and all tracks resolve by name in the challenges database. */
    async preflightLegacyTypes(): Promise<CheckResult> {
      try {
        const types = await sql<{ name: string }>`
          SELECT name FROM challenges."ChallengeType" WHERE name IN (${sql.join([...REQUIRED_LEGACY_TYPES])})`.execute(dbs.challenges);
        const tracks = await sql<{ track: string }>`
          SELECT track FROM challenges."ChallengeTrack" WHERE track IN (${sql.join(TRACKS.map((t) => t.track))})`.execute(dbs.challenges);
        const missingTypes = REQUIRED_LEGACY_TYPES.filter((n) => !types.rows.some((r) => r.name === n));
        const missingTracks = TRACKS.map((t) => t.track).filter((n) => !tracks.rows.some((r) => r.track === n));
        const missing = [...missingTypes.map((n) => `type ${n}`), ...missingTracks.map((n) => `track ${n}`)];
        return missing.length === 0
          ? { name: 'challenges:legacy-types', passed: true, detail: `resolved ${REQUIRED_LEGACY_TYPES.join(', ')} and ${TRACKS.length} tracks` }
          : { name: 'challenges:legacy-types', passed: false, detail: `not resolvable in CHALLENGES_DB_URL: ${missing.join(', ')}` };
      } catch (e) {
        return { name: 'challenges:legacy-types', passed: false, detail: `CHALLENGES_DB_URL: ${message(e)}` };
      }
    },

    /** The cutover starts from legacy reads. */
    async preflightReadSource(): Promise<CheckResult> {
      try {
        const source = await getReadSource(dbs.members);
        return source === 'legacy'
          ? { name: 'read-source', passed: true, detail: 'legacy' }
          : { name: 'read-source', passed: false, detail: `read source is "${source}": roll back with \`npm run cutover -- switch --to legacy --reason "…"\` before starting a cutover` };
      } catch (e) {
        return { name: 'read-source', passed: false, detail: message(e) };
      }
    },

    /** GET <API_URL>/members/health answers 200 (skipped when API_URL is not set). */
    async preflightApiHealth(): Promise<CheckResult> {
      if (!config.apiUrl) return { name: 'api:health', passed: true, skipped: true, detail: 'skipped: API_URL not set' };
      const url = new URL('/members/health', config.apiUrl).toString();
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
        return { name: 'api:health', passed: res.status === 200, detail: `GET ${url} → ${res.status}` };
      } catch (e) {
        return { name: 'api:health', passed: false, detail: `GET ${url} failed: ${message(e)}` };
      }
    },
  };
}
