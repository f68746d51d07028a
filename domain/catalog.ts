/**
 * The challenge catalogue as production has it: tracks, types (active and hidden legacy ones) and the legacy
 * sub-tracks of the member stats tables. Ids are fixed so every environment (and every seed) agrees; our code still
 * resolves them by name from the challenges database, never assumes them.
 */

export const TRACKS = [
  { id: '9b6fc876-f4d9-4ccb-9dfd-419247628825', track: 'DEVELOPMENT', name: 'Development', abbreviation: 'DEV', legacyId: 1 },
  { id: 'c0f5d461-8219-4c16-a7ac-a1ca7a0e2d2c', track: 'DATA_SCIENCE', name: 'Data Science', abbreviation: 'DS', legacyId: 3 },
  { id: '5fa04185-041f-49a6-bfd1-fe82533cd6c8', track: 'DESIGN', name: 'Design', abbreviation: 'DES', legacyId: 2 },
  { id: '36e6a8d0-7e1e-4608-a673-64279d99c115', track: 'QUALITY_ASSURANCE', name: 'Quality Assurance', abbreviation: 'QA', legacyId: 4 },
] as const;

export type TrackName = (typeof TRACKS)[number]['track'];

export const TYPES = [
  { id: '927abff4-7af9-4145-8ba1-577c16e64e2e', name: 'Challenge', abbreviation: 'CH', isActive: true, isTask: false },
  { id: 'dc876fa4-ef2d-4eee-b701-b555fcc6544c', name: 'First2Finish', abbreviation: 'F2F', isActive: true, isTask: false },
  { id: 'ecd58c69-238f-43a4-a4bb-d172719b9f31', name: 'Task', abbreviation: 'TSK', isActive: true, isTask: true },
  { id: '929bc408-9cf2-4b3e-ba71-adfbf693046c', name: 'Marathon Match', abbreviation: 'MM', isActive: true, isTask: false },
  { id: 'b3b4f9a6-4f0e-4b7f-8a4a-1e6f8c9a0d11', name: 'SRM', abbreviation: 'SRM', isActive: false, isTask: false },
  // hidden legacy types: migrated challenges still point at them, so they must stay resolvable
  { id: '6e6b4a1c-8d2e-4a0c-9a3a-7f2f4c1d9e01', name: 'CODE', abbreviation: 'CODE', isActive: false, isTask: false },
  { id: '6e6b4a1c-8d2e-4a0c-9a3a-7f2f4c1d9e02', name: 'ARCHITECTURE', abbreviation: 'ARCH', isActive: false, isTask: false },
  { id: '6e6b4a1c-8d2e-4a0c-9a3a-7f2f4c1d9e03', name: 'ASSEMBLY_COMPETITION', abbreviation: 'ASSEMBLY', isActive: false, isTask: false },
  { id: '6e6b4a1c-8d2e-4a0c-9a3a-7f2f4c1d9e04', name: 'BUG_HUNT', abbreviation: 'BUGHUNT', isActive: false, isTask: false },
  { id: '6e6b4a1c-8d2e-4a0c-9a3a-7f2f4c1d9e05', name: 'UI_PROTOTYPE_COMPETITION', abbreviation: 'UIPROTO', isActive: false, isTask: false },
] as const;

export type TypeName = (typeof TYPES)[number]['name'];

/** Ids of the catalogue as an environment's challenges database has them (resolved by name, never assumed). */
export interface Catalog {
  tracks: Array<{ id: string; track: TrackName }>;
  types: Array<{ id: string; name: TypeName }>;
}

/** The ids this project ships (and seeds): what a reader uses until the challenges database's own are loaded. */
export const BUILTIN_CATALOG: Catalog = {
  tracks: TRACKS.map((t) => ({ id: t.id, track: t.track })),
  types: TYPES.map((t) => ({ id: t.id, name: t.name })),
};

/** Names by id and ids by name over one catalogue: a value handed to readers, never process-wide state. */
export interface CatalogNames {
  /** an id the catalogue does not know is shown as is */
  trackName(id: string): string;
  typeName(id: string): string;
  trackId(name: string): string | undefined;
  typeId(name: string): string | undefined;
}

export function catalogNames(c: Catalog): CatalogNames {
  const trackNames = new Map<string, string>(c.tracks.map((t) => [t.id, t.track]));
  const typeNames = new Map<string, string>(c.types.map((t) => [t.id, t.name]));
  const trackIds = new Map<string, string>(c.tracks.map((t) => [t.track, t.id]));
  const typeIds = new Map<string, string>(c.types.map((t) => [t.name, t.id]));
  return {
    trackName: (id) => trackNames.get(id) ?? id,
    typeName: (id) => typeNames.get(id) ?? id,
    trackId: (name) => trackIds.get(name),
    typeId: (name) => typeIds.get(name),
  };
}

/** Hidden legacy types the cutover must be able to resolve (preflight checks them). */
export const REQUIRED_LEGACY_TYPES = ['ARCHITECTURE', 'ASSEMBLY_COMPETITION', 'SRM', 'CODE'] as const;

/** Legacy sub-tracks of memberDevelopStatsItem / memberDesignStatsItem / data-science history, with legacy ids. */
export const DEVELOP_SUBTRACKS = {
  CODE: 39,
  FIRST_2_FINISH: 38,
  DEVELOPMENT: 113,
  ARCHITECTURE: 118,
  BUG_HUNT: 120,
  ASSEMBLY_COMPETITION: 125,
  UI_PROTOTYPE_COMPETITION: 130,
} as const;

export const DESIGN_SUBTRACKS = {
  WEB_DESIGNS: 17,
  LOGO_DESIGN: 22,
  WIDGET_OR_MOBILE_SCREEN_DESIGN: 30,
  DESIGN_FIRST_2_FINISH: 40,
} as const;

export const DATA_SCIENCE_SUBTRACKS = { SRM: 1, MARATHON_MATCH: 2 } as const;

/** Rating colour bands of memberMaxRating: the first band whose `below` exceeds the rating; the last is open. */
export const RATING_COLOR_BANDS: ReadonlyArray<{ below: number | null; color: string }> = [
  { below: 900, color: '#9D9FA0' },
  { below: 1200, color: '#69C329' },
  { below: 1500, color: '#616BD5' },
  { below: 2200, color: '#FCD617' },
  { below: null, color: '#EF3A3A' },
];

export function ratingColor(rating: number): string {
  const band = RATING_COLOR_BANDS.find((b) => b.below === null || rating < b.below);
  return band!.color;
}

export function trackByName(track: TrackName) {
  const t = TRACKS.find((x) => x.track === track);
  if (!t) throw new Error(`unknown track ${track}`);
  return t;
}

export function typeByName(name: TypeName) {
  const t = TYPES.find((x) => x.name === name);
  if (!t) throw new Error(`unknown challenge type ${name}`);
  return t;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A track named by its catalogue id (UUID) or its name, case-insensitively; undefined when neither matches. */
export function resolveTrack(c: Catalog, idOrName: string): Catalog['tracks'][number] | undefined {
  return c.tracks.find((x) => (UUID.test(idOrName) ? x.id === idOrName.toLowerCase() : x.track === idOrName.toUpperCase()));
}

const normalName = (n: string) => n.toUpperCase().replace(/[^A-Z0-9]/g, '');

/** A type named by its catalogue id (UUID) or its name in any spelling (Marathon Match, MARATHON_MATCH, First2Finish, FIRST_2_FINISH). */
export function resolveType(c: Catalog, idOrName: string): Catalog['types'][number] | undefined {
  if (UUID.test(idOrName)) return c.types.find((x) => x.id === idOrName.toLowerCase());
  return c.types.find((x) => normalName(x.name) === normalName(idOrName));
}

/** Why a --track-id / --type-id value names nothing, with every value that would: one message for the CLI and the workflow. */
export function unknownTrackMessage(c: Catalog, value: string): string {
  return `--track-id ${value} is neither a ChallengeTrack id nor a track name; use one of ${c.tracks.map((x) => `${x.track} (${x.id})`).join(', ')}`;
}

export function unknownTypeMessage(c: Catalog, value: string): string {
  return `--type-id ${value} is neither a ChallengeType id nor a type name; use one of ${c.types.map((x) => `${x.name} (${x.id})`).join(', ')}`;
}
