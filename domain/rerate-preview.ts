import type { Stream } from './rerate';

/**
 * Phase D's preview: what a rerate would change, before it does. The diff compares the engine's rows with the
 * stored rows they would replace; the source fingerprints (one hash per member's stored rows and per event, taken
 * when the preview was computed) let `rerate promote` refuse a preview whose inputs have moved since. Pure.
 */

/** Hashes of what a rerate is computed from: each member's stored rows of the stream, each rated event. */
export interface SourcePrint {
  members: Record<string, string>;
  events: Record<string, string>;
}

export interface SourceChanges {
  /** members whose stored rows of the stream changed, appeared or disappeared */
  members: string[];
  /** events whose participants, scores or end date changed, or that appeared or disappeared */
  events: string[];
}

function changedKeys(a: Record<string, string>, b: Record<string, string>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys]
    .filter((k) => a[k] !== b[k])
    .sort((x, y) => (/^\d+$/.test(x) && /^\d+$/.test(y) ? Number(x) - Number(y) : x < y ? -1 : 1));
}

export function sourceChanges(then: SourcePrint, now: SourcePrint): SourceChanges {
  return { members: changedKeys(then.members, now.members), events: changedKeys(then.events, now.events) };
}

export const hasChanges = (c: SourceChanges) => c.members.length > 0 || c.events.length > 0;

const some = (ids: string[], n = 5) => `${ids.slice(0, n).join(', ')}${ids.length > n ? `, … ${ids.length - n} more` : ''}`;

/** The refusal an operator reads: what moved, and what to do. */
export function describeSourceChanges(
  stream: Stream,
  runKey: string,
  c: SourceChanges,
  names: ReadonlyMap<string, string> = new Map(),
): string {
  const parts = [
    ...(c.members.length ? [`the stored ${stream} history of ${c.members.length} member(s) (${some(c.members)})`] : []),
    ...(c.events.length
      ? [`${c.events.length} rated event(s) (${some(c.events.map((id) => (names.has(id) ? `${id} "${names.get(id)}"` : id)))})`]
      : []),
  ];
  return (
    `preview ${runKey} is stale: since it was computed, ${parts.join(' and ')} changed. ` +
    `Nothing was written; run the preview again (rerate --stream ${stream} … --preview) and promote that run`
  );
}

/** Δrating bands of the diff's histogram: [from, to], either end open. */
export const DELTA_BANDS: ReadonlyArray<{ from: number | null; to: number | null }> = [
  { from: null, to: -200 },
  { from: -199, to: -100 },
  { from: -99, to: -50 },
  { from: -49, to: -20 },
  { from: -19, to: -1 },
  { from: 0, to: 0 },
  { from: 1, to: 19 },
  { from: 20, to: 49 },
  { from: 50, to: 99 },
  { from: 100, to: 199 },
  { from: 200, to: null },
];

export interface DeltaBand {
  from: number | null;
  to: number | null;
  count: number;
}

export interface RatingChange {
  userId: number;
  challengeId: string;
  challengeName: string | null;
  from: number;
  to: number;
  delta: number;
}

export interface PreviewDiff {
  /** rows the rerate computes */
  rows: number;
  /** stored rows promote would rewrite (any rated field differs) plus rows it would insert */
  rowsChanged: number;
  /** of which rows inserted (nothing stored for that member and event under the stream's key) */
  newRows: number;
  membersChanged: number;
  /** the largest |Δ new rating| over rows with a stored rating, largest first (ties: member id, challenge) */
  largest: RatingChange[];
  /** Δ new rating over rows with a stored rating */
  histogram: DeltaBand[];
}

export function histogram(deltas: readonly number[]): DeltaBand[] {
  const bands = DELTA_BANDS.map((b) => ({ ...b, count: 0 }));
  for (const d of deltas) {
    const b = bands.find((x) => (x.from === null || d >= x.from) && (x.to === null || d <= x.to))!;
    b.count++;
  }
  return bands;
}

/** One shadow row that differs from what is stored (or has nothing stored: fresh), as promote would write it. */
export interface RowChange {
  userId: number;
  challengeId: string;
  challengeName: string | null;
  /** the stored row's new rating; null when fresh or when it had none */
  from: number | null;
  to: number;
  fresh: boolean;
}

/**
 * The diff of a preview: `changes` are the rows promote would write (found against the tables by the same match
 * promote uses), `unchangedRated` the rows it would leave alone that carry a rating (Δ 0 in the histogram).
 */
export function summarizeDiff(rows: number, unchangedRated: number, changes: readonly RowChange[], top = 10): PreviewDiff {
  const deltas: number[] = Array.from({ length: unchangedRated }, () => 0);
  const rated: RatingChange[] = [];
  for (const c of changes) {
    if (c.from === null) continue;
    const delta = c.to - c.from;
    deltas.push(delta);
    if (delta !== 0)
      rated.push({ userId: c.userId, challengeId: c.challengeId, challengeName: c.challengeName, from: c.from, to: c.to, delta });
  }
  const largest = rated
    .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta) || a.userId - b.userId || (a.challengeId < b.challengeId ? -1 : 1))
    .slice(0, top);
  return {
    rows,
    rowsChanged: changes.length,
    newRows: changes.filter((c) => c.fresh).length,
    membersChanged: new Set(changes.map((c) => c.userId)).size,
    largest,
    histogram: histogram(deltas),
  };
}

/** What a promote did: the preview's rows applied in one transaction. */
export interface PromoteOutcome {
  runKey: string;
  stream: Stream;
  written: number;
  statsChanged: number;
  ranksChanged: number;
  membersTouched: number;
  promotedAt: string;
}
