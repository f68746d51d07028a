import { ApplicationFailure } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import { REQUIRED_LEGACY_TYPES, TRACKS, TYPES } from '../domain/catalog';
import { Failure } from '../domain/failures';
import { CHALLENGE_RESULT_COLUMNS, REVIEW_SCHEMA_MISSING, type CheckResult } from '../domain/preflight';
import { catalogNamesPresent, challengeResultColumns, challengeResultCount, currentDatabase } from '../store/preflight';
import { getReadSource } from '../store/read-source';
import { unmappedSubTracks } from '../store/unmapped';
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
    /**
     * Every catalogue type and track the backfill maps to resolves by name (the hidden legacy types included), and
     * every legacy sub-track in the member tables is one the mapping knows (else its rows could not be placed).
     */
    async preflightLegacyTypes(): Promise<CheckResult[]> {
      const types = TYPES.map((t) => t.name);
      const tracks = TRACKS.map((t) => t.track);
      let catalogue: CheckResult;
      try {
        const present = await catalogNamesPresent(dbs.challenges, types, tracks);
        const missing = [
          ...types.filter((n) => !present.types.has(n)).map((n) => `type ${n}`),
          ...tracks.filter((n) => !present.tracks.has(n)).map((n) => `track ${n}`),
        ];
        catalogue =
          missing.length === 0
            ? {
                name: 'challenges:legacy-types',
                passed: true,
                detail: `resolved ${types.length} types (hidden legacy ${REQUIRED_LEGACY_TYPES.join(', ')} included) and ${tracks.length} tracks`,
              }
            : { name: 'challenges:legacy-types', passed: false, detail: `not resolvable in CHALLENGES_DB_URL: ${missing.join(', ')}` };
      } catch (e) {
        catalogue = { name: 'challenges:legacy-types', passed: false, detail: `CHALLENGES_DB_URL: ${message(e)}` };
      }
      let subTracks: CheckResult;
      try {
        const unmapped = await unmappedSubTracks(dbs.members);
        subTracks =
          unmapped.length === 0
            ? { name: 'legacy:sub-tracks', passed: true, detail: 'every legacy sub-track has a unified key' }
            : {
                name: 'legacy:sub-tracks',
                passed: false,
                detail: `legacy rows with sub-tracks the mapping does not know (they could not be placed): ${unmapped
                  .map((u) => `${u.table}.${u.subTrack} (${u.rows} rows, ${u.members} members)`)
                  .join(', ')}; add them to domain/mapping.ts`,
              };
      } catch (e) {
        subTracks = { name: 'legacy:sub-tracks', passed: false, detail: `DATABASE_URL: ${message(e)}` };
      }
      return [catalogue, subTracks];
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
    /** the operator's API_URL (the workflow input) wins over this worker's; the detail says whose was checked */
    async preflightApiHealth(input: { apiUrl?: string } = {}): Promise<CheckResult> {
      const apiUrl = input.apiUrl ?? config.apiUrl;
      if (!apiUrl)
        return {
          name: 'api:health',
          passed: true,
          skipped: true,
          detail: 'skipped: API_URL not set (neither the command’s nor the worker’s)',
        };
      const whose = input.apiUrl ? 'API_URL of the command' : 'API_URL of the worker';
      const url = new URL('/members/health', apiUrl).toString();
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
        return { name: 'api:health', passed: res.status === 200, detail: `GET ${url} → ${res.status} (${whose})` };
      } catch (e) {
        return { name: 'api:health', passed: false, detail: `GET ${url} failed: ${message(e)} (${whose})` };
      }
    },
  };
}
