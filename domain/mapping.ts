import { DESIGN_SUBTRACKS, type TrackName, type TypeName } from './catalog';

/**
 * Where legacy stats land in the unified tables: one place for backfill, parity and the read API.
 * A unified key is (track, type) by name; ids are resolved from the challenges catalogue at run time.
 */
export interface UnifiedKey {
  track: TrackName;
  type: TypeName;
}

/** Legacy family = the parent stats table a legacy row hangs from; parity's track-summary groups by it. */
export type LegacyFamily = 'DEVELOP' | 'DESIGN' | 'DATA_SCIENCE';

/** memberDevelopStatsItem.name → unified key. Legacy develop sub-tracks with a hidden challenge type keep it. */
export const DEVELOP_ITEM_KEYS: Record<string, UnifiedKey> = {
  DEVELOPMENT: { track: 'DEVELOPMENT', type: 'Challenge' },
  // one Development rating stream across Challenge and legacy CODE, kept where member-api-v6 keeps it
  CODE: { track: 'DEVELOPMENT', type: 'Challenge' },
  FIRST_2_FINISH: { track: 'DEVELOPMENT', type: 'First2Finish' },
  ARCHITECTURE: { track: 'DEVELOPMENT', type: 'ARCHITECTURE' },
  ASSEMBLY_COMPETITION: { track: 'DEVELOPMENT', type: 'ASSEMBLY_COMPETITION' },
  UI_PROTOTYPE_COMPETITION: { track: 'DEVELOPMENT', type: 'UI_PROTOTYPE_COMPETITION' },
  // Bug Hunt was a develop sub-track in legacy; the platform files it under Quality Assurance
  BUG_HUNT: { track: 'QUALITY_ASSURANCE', type: 'BUG_HUNT' },
};

/** memberDesignStatsItem.name → unified key: design sub-tracks collapse into Challenge, except F2F. */
export function designItemKey(name: string): UnifiedKey {
  return name === 'DESIGN_FIRST_2_FINISH' ? { track: 'DESIGN', type: 'First2Finish' } : { track: 'DESIGN', type: 'Challenge' };
}

export const SRM_KEY: UnifiedKey = { track: 'DATA_SCIENCE', type: 'SRM' };
/** Marathon Matches are always DATA_SCIENCE, whatever track the challenge was imported under. */
export const MARATHON_KEY: UnifiedKey = { track: 'DATA_SCIENCE', type: 'Marathon Match' };
/** The Development rating stream (RATINGS.md: DEVELOP / Challenge). */
export const DEVELOP_RATED_KEY: UnifiedKey = { track: 'DEVELOPMENT', type: 'Challenge' };

/** Legacy data-science history sub-track → unified key. */
export function dataScienceHistoryKey(subTrack: string): UnifiedKey | undefined {
  if (subTrack === 'SRM') return SRM_KEY;
  if (subTrack === 'MARATHON_MATCH') return MARATHON_KEY;
  return undefined;
}

/**
 * A completed challenge's unified key: its own track and type, Marathon Matches moved to DATA_SCIENCE, and legacy
 * CODE challenges on the Development stream's key (DEVELOPMENT/Challenge).
 */
export function challengeKey(track: TrackName, type: TypeName): UnifiedKey {
  if (type === 'Marathon Match') return MARATHON_KEY;
  if (track === 'DEVELOPMENT' && type === 'CODE') return DEVELOP_RATED_KEY;
  return { track, type };
}

/**
 * Partitions whose ratings the platform computes (the Development stream, as the real migration script does): their
 * ranks are re-ranked by us; every other partition keeps the ranks legacy recorded (SRM and Marathon Match ranks
 * counted active members only).
 */
export const RERANKED_KEYS: readonly UnifiedKey[] = [DEVELOP_RATED_KEY];

/** Legacy develop items that are one rating stream (RATINGS.md): they share DEVELOP_RATED_KEY. */
export const DEVELOP_STREAM_ITEMS: readonly string[] = ['DEVELOPMENT', 'CODE'];

/** The legacy family a unified track belongs to (QA was a legacy develop sub-track family). */
export function familyOf(track: TrackName): LegacyFamily {
  if (track === 'DESIGN') return 'DESIGN';
  if (track === 'DATA_SCIENCE') return 'DATA_SCIENCE';
  return 'DEVELOP';
}

/** Legacy sub-track names the mapping knows, per legacy table: anything else would be dropped, so it is reported. */
export const KNOWN_SUB_TRACKS = {
  memberDevelopStatsItem: Object.keys(DEVELOP_ITEM_KEYS),
  memberDesignStatsItem: Object.keys(DESIGN_SUBTRACKS),
  memberDevelopHistoryStats: Object.keys(DEVELOP_ITEM_KEYS),
  memberDataScienceHistoryStats: ['SRM', 'MARATHON_MATCH'],
} as const satisfies Record<string, readonly string[]>;
export type LegacySubTrackTable = keyof typeof KNOWN_SUB_TRACKS;

/** Legacy rows on one sub-track the mapping does not know. */
export interface UnmappedSubTrack {
  table: string;
  subTrack: string;
  rows: number;
  members: number;
}
