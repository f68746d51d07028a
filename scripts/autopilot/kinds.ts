import type { TrackName } from '../../domain/catalog';
import type { Rng } from '../seed/prng';
import { KINDS, LAST_YEAR, TRACK_ORDER, type ChallengeKind } from '../seed/profile';

/**
 * Which of the seed's challenge kinds (scripts/seed/profile.ts KINDS) a challenge is, by its type and track names —
 * the same mix the calendar plans from — and which kind a newly opened challenge is.
 */

/** The rating stream a kind feeds, as simulate.ts names them: Development (Challenge + legacy CODE), Marathon Match, SRM. */
export type Stream = 'DEV' | 'MM' | 'SRM';

export function streamOf(kind: ChallengeKind): Stream | null {
  return kind.key === 'dev' || kind.key === 'code' ? 'DEV' : kind.key === 'mm' ? 'MM' : kind.key === 'srm' ? 'SRM' : null;
}

/** A challenge of a type/track the seed's mix does not know: scored by review, counted by no legacy item, unrated. */
function genericKind(track: TrackName, type: string): ChallengeKind {
  return {
    key: `other:${track}/${type}`,
    track,
    type: 'Challenge',
    fromYear: LAST_YEAR,
    toYear: LAST_YEAR,
    per1000: 0,
    min: 0,
    median: 5,
    sigma: 0.5,
    max: 30,
    ratedShare: 0,
    durationDays: [3, 10],
    score: 'review',
    prizes: 2,
    items: [null],
  };
}

/**
 * The kind of a challenge by its type and (filed) track: Marathon Matches whatever their track (some were imported
 * under Development), SRMs likewise; otherwise the kind of that type on that track.
 */
export function kindOf(typeName: string, trackName: string): ChallengeKind {
  if (typeName === 'Marathon Match') return KINDS.find((k) => k.key === 'mm')!;
  if (typeName === 'SRM') return KINDS.find((k) => k.key === 'srm')!;
  const kind = KINDS.find((k) => k.type === typeName && k.track === trackName);
  if (kind) return kind;
  const track = (TRACK_ORDER as readonly string[]).includes(trackName) ? (trackName as TrackName) : 'DEVELOPMENT';
  return genericKind(track, typeName);
}

/** Kinds the platform still runs (their era reaches the data's last year): what new challenges are. */
export const LIVE_KINDS: readonly ChallengeKind[] = KINDS.filter((k) => k.toYear >= LAST_YEAR);

/** A new challenge's kind, weighted like the calendar's mix (challenges per 1,000 members), or the named one. */
export function pickKind(rng: Rng, key?: string): ChallengeKind {
  if (key !== undefined) {
    const kind = KINDS.find((k) => k.key === key);
    if (!kind) throw new Error(`unknown challenge kind "${key}" (one of ${KINDS.map((k) => k.key).join(', ')})`);
    return kind;
  }
  return LIVE_KINDS[rng.weighted(LIVE_KINDS.map((k) => k.per1000))]!;
}

/** The track a kind's members are drawn from (TRACK_ORDER index): a misfiled Marathon Match still draws data scientists. */
export function memberTrackIndex(kind: ChallengeKind): number {
  return TRACK_ORDER.indexOf(kind.track);
}
