import type { Catalog } from '../domain/catalog';
import { loadCatalog } from '../store/catalog';
import type { Databases } from '../store/db';

/** The challenges catalogue, loaded once per worker and again after a failed load (reference data, rarely changed). */
export function catalogCache(dbs: Pick<Databases, 'challenges'>): () => Promise<Catalog> {
  let catalog: Promise<Catalog> | undefined;
  return () => (catalog ??= loadCatalog(dbs.challenges).catch((e: unknown) => ((catalog = undefined), Promise.reject(e))));
}
