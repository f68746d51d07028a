import { sql, type Kysely, type RawBuilder } from 'kysely';
import {
  DESIGN_SUBTRACKS,
  TRACKS,
  TYPES,
  type Catalog,
  type CatalogNames,
  type TrackName,
  type TypeName,
  catalogNames,
} from '../domain/catalog';
import { challengeKey, DEVELOP_ITEM_KEYS, designItemKey, MARATHON_KEY, SRM_KEY, type UnifiedKey } from '../domain/mapping';

/** The challenge catalogue as the challenges database has it, and the SQL maps every phase joins legacy names with. */

/** The catalogue as the challenges database has it; every name we map to must resolve. */
export async function loadCatalog(challenges: Kysely<any>): Promise<Catalog> {
  const tracks = await sql<{ id: string; track: TrackName }>`SELECT id::text AS id, track FROM challenges."ChallengeTrack"`.execute(
    challenges,
  );
  const types = await sql<{ id: string; name: TypeName }>`SELECT id::text AS id, name FROM challenges."ChallengeType"`.execute(challenges);
  const missing = [
    ...TRACKS.filter((t) => !tracks.rows.some((r) => r.track === t.track)).map((t) => `track ${t.track}`),
    ...TYPES.filter((t) => !types.rows.some((r) => r.name === t.name)).map((t) => `type ${t.name}`),
  ];
  if (missing.length > 0) throw new Error(`the challenges database (CHALLENGES_DB_URL) lacks ${missing.join(', ')}`);
  return { tracks: tracks.rows, types: types.rows };
}

/** The catalogue's names as a value for readers (the API, response-shape parity, the switch's verification). */
export async function loadCatalogNames(challenges: Kysely<any>): Promise<CatalogNames> {
  return catalogNames(await loadCatalog(challenges));
}

export function keyIds(catalog: Catalog, key: UnifiedKey): [string, string] {
  const track = catalog.tracks.find((t) => t.track === key.track);
  const type = catalog.types.find((t) => t.name === key.type);
  if (!track || !type) throw new Error(`the challenges catalogue lacks ${key.track}/${key.type}`);
  return [track.id, type.id];
}

/** VALUES (name, trackId, typeId) for legacy item names → unified key. */
export function itemMap(catalog: Catalog, entries: Array<[string, UnifiedKey]>): RawBuilder<unknown> {
  return sql`(VALUES ${sql.join(
    entries.map(([name, key]) => {
      const [t, y] = keyIds(catalog, key);
      return sql`(${name}::text, ${t}::uuid, ${y}::uuid)`;
    }),
  )})`;
}

export const developMap = (c: Catalog) => itemMap(c, Object.entries(DEVELOP_ITEM_KEYS));
export const designMap = (c: Catalog) =>
  itemMap(
    c,
    Object.keys(DESIGN_SUBTRACKS).map((n) => [n, designItemKey(n)]),
  );
export const dsHistoryMap = (c: Catalog) =>
  itemMap(c, [
    ['SRM', SRM_KEY],
    ['MARATHON_MATCH', MARATHON_KEY],
  ]);

/** Challenge (trackId, typeId) → unified key (domain/mapping: Marathon Matches go to DATA_SCIENCE). */
export function challengeKeyMap(c: Catalog): RawBuilder<unknown> {
  const rows = c.tracks.flatMap((t) =>
    c.types.map((y) => {
      const [track, type] = keyIds(c, challengeKey(t.track, y.name));
      return sql`(${t.id}::uuid, ${y.id}::uuid, ${track}::uuid, ${type}::uuid)`;
    }),
  );
  return sql`(VALUES ${sql.join(rows)})`;
}
