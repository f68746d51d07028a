import { trackByName, typeByName } from '../../domain/catalog';
import { projectName } from './names';
import { timeInWeightedYears } from './population';
import { Injector, type Rng } from './prng';
import { ANOMALY_RATES, CHALLENGE_YEAR_WEIGHT, KINDS, MS, type ChallengeKind, type StatsItem } from './profile';

/**
 * The challenge calendar: how many challenges of each kind, when they end, their ids, names and rating metadata.
 * End dates are made unique so the rating order (end date, then a tie-breaking key) never depends on the key.
 * Two anomalies are decided here: Marathon Matches filed under the Development track, and challenges whose rating
 * metadata row was lost (the legacy system still rated those when their kind is rated).
 */

export type RatingMetadataName = 'rated' | 'isRated' | 'unrated';

export interface PlannedChallenge {
  seq: number;
  kind: ChallengeKind;
  id: string;
  name: string;
  legacyId: number;
  typeId: string;
  /** filed track: DEVELOPMENT for the misfiled Marathon Matches; members are still drawn from kind.track */
  trackId: string;
  startAt: number;
  endAt: number;
  item: StatsItem;
  /** rated per its metadata (or, with no metadata, per the legacy system) */
  rated: boolean;
  /** which metadata name carries the flag; null = no rating metadata (anomaly) */
  ratingMetadata: RatingMetadataName | null;
  hasSubmissionLimit: boolean;
  /** Marathon Match round / SRM number */
  round: number | null;
}

export interface Calendar {
  challenges: PlannedChallenge[];
  noRatingMetadata: number;
  marathonUnderDevelopment: number;
}

export function planChallenges(rng: Rng, members: number): Calendar {
  const drafts: { kind: ChallengeKind; endAt: number; order: number }[] = [];
  KINDS.forEach((kind, order) => {
    const count = Math.max(kind.min, Math.round((kind.per1000 * members) / 1000));
    for (let i = 0; i < count; i++) {
      drafts.push({ kind, endAt: Math.floor(timeInWeightedYears(rng, CHALLENGE_YEAR_WEIGHT, kind.fromYear, kind.toYear)), order });
    }
  });
  drafts.sort((a, b) => a.endAt - b.endAt || a.order - b.order);
  for (let i = 1; i < drafts.length; i++) {
    if (drafts[i]!.endAt <= drafts[i - 1]!.endAt) drafts[i]!.endAt = drafts[i - 1]!.endAt + 1;
  }

  const noMetadata = new Injector(rng.fork('anomaly/noRatingMetadata'), ANOMALY_RATES.challengeNoRatingMetadata);
  const mmUnderDev = new Injector(rng.fork('anomaly/mmUnderDev'), ANOMALY_RATES.marathonMatchUnderDevelopmentTrack);
  const development = trackByName('DEVELOPMENT').id;
  let legacyId = 30_000_000;
  let mmRound = 0;
  let srmRound = 199;
  const challenges = drafts.map(({ kind, endAt }, seq): PlannedChallenge => {
    legacyId += rng.int(1, 12);
    const [lo, hi] = kind.durationDays;
    const startAt = Math.floor(endAt - rng.uniform(lo, hi) * MS.DAY);
    let round: number | null = null;
    let name: string;
    let trackId: string = trackByName(kind.track).id;
    if (kind.score === 'marathon') {
      round = ++mmRound;
      name = `Marathon Match ${round}`;
      if (mmUnderDev.hit()) trackId = development;
    } else if (kind.score === 'srm') {
      round = ++srmRound;
      name = `SRM ${round}`;
    } else {
      const prefix = kind.type === 'First2Finish' ? 'F2F - ' : kind.type === 'Task' ? 'Task - ' : '';
      name = prefix + projectName(rng);
    }
    const missing = noMetadata.hit();
    const rated = kind.ratedShare > 0 && (missing || rng.chance(kind.ratedShare));
    const variant = rng.weighted([0.6, 0.25, 0.15]);
    return {
      seq,
      kind,
      id: rng.uuid(),
      name,
      legacyId,
      trackId,
      typeId: typeByName(kind.type).id,
      startAt,
      endAt,
      item: rng.pick(kind.items),
      rated,
      ratingMetadata: missing ? null : variant === 0 ? 'rated' : variant === 1 ? 'isRated' : 'unrated',
      hasSubmissionLimit: rng.chance(0.3),
      round,
    };
  });
  return { challenges, noRatingMetadata: noMetadata.count, marathonUnderDevelopment: mmUnderDev.count };
}
