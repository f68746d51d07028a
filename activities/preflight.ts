import { ApplicationFailure } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import { REQUIRED_LEGACY_TYPES, TRACKS } from '../domain/catalog';
import { Failure } from '../domain/failures';
import { CHALLENGE_RESULT_COLUMNS, REVIEW_SCHEMA_MISSING, type CheckResult } from '../domain/preflight';
import { catalogNamesPresent, challengeResultColumns, challengeResultCount, currentDatabase } from '../store/preflight';
import { getReadSource } from '../store/read-source';
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
            return { name: `database:${role}`, passed: true, detail: `connected to "${await currentDatabase(db)}"` };
          } catch (e) {
            return { name: `database:${role}`, passed: false, detail: `${variable}: ${message(e)}` };
          }
        }),
      );
    },

    /** The review database must expose challengeResult: without it nothing can be backfilled or rated. */
    async preflightReviewSchema(): Promise<CheckResult> {
      const present = await challengeResultColumns(dbs.reviews);
      if (present.size === 0) throw ApplicationFailure.nonRetryable(REVIEW_SCHEMA_MISSING, Failure.ReviewSchemaMissing);
      const missing = CHALLENGE_RESULT_COLUMNS.filter((c) => !present.has(c));
      if (missing.length > 0) {
        throw ApplicationFailure.nonRetryable(
          `reviews."challengeResult" (REVIEW_DB_URL) lacks columns ${missing.join(', ')}: deploy the current review migrations, or fix REVIEW_DB_URL.`,
          Failure.ReviewSchemaMissing,
        );
      }
      return { name: 'review:challengeResult', passed: true, detail: `present with ${await challengeResultCount(dbs.reviews)} rows` };
    },

    /** Hidden legacy challenge types and all tracks resolve by name in the challenges database. */
    async preflightLegacyTypes(): Promise<CheckResult> {
      try {
        const present = await catalogNamesPresent(
          dbs.challenges,
          REQUIRED_LEGACY_TYPES,
          TRACKS.map((t) => t.track),
        );
        const missingTypes = REQUIRED_LEGACY_TYPES.filter((n) => !present.types.has(n));
        const missingTracks = TRACKS.map((t) => t.track).filter((n) => !present.tracks.has(n));
        const missing = [...missingTypes.map((n) => `type ${n}`), ...missingTracks.map((n) => `track ${n}`)];
        return missing.length === 0
          ? {
              name: 'challenges:legacy-types',
              passed: true,
              detail: `resolved ${REQUIRED_LEGACY_TYPES.join(', ')} and ${TRACKS.length} tracks`,
            }
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
          : {
              name: 'read-source',
              passed: false,
              detail: `read source is "${source}": roll back with \`npm run cutover -- switch --to legacy --reason "…"\` before starting a cutover`,
            };
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
