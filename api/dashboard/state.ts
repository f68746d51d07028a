import type { DeltaBand, PreviewDiff } from '../../domain/rerate-preview';
import { refreshSeconds } from '../../lib/metrics';
import { backfillThroughput, type BackfillThroughput } from '../../store/backfill/checkpoint';
import { currentGates, evidenceById, listEvidence } from '../../store/gates';
import { readSourceHistory } from '../../store/read-source';
import { currentParityGate } from '../../store/parity/gate';
import { collectStatus, type StatusReport, type StatusSources } from '../status';

/** Everything the dashboard page draws, in one read: `status` plus the gates, the read source's trail and the plots' data. */
export interface DashboardState {
  at: string;
  status: StatusReport;
  /** the go/no-go gates: as the cutover last evaluated them, else from stored evidence now (cached a minute) */
  gates: {
    source: 'cutover' | 'evidence';
    at: string | null;
    gates: Array<{ gate: string; holds: boolean; reason: string; evidenceIds: number[] }>;
  };
  readSourceTrail: Array<{ id: number; from: string | null; to: string; actor: string; reason: string; at: string }>;
  backfill: BackfillThroughput | null;
  /** the Δrating histogram of the latest rerate preview on record */
  rerateDeltas: { evidenceId: number; stream: string; createdAt: string; bands: DeltaBand[] } | null;
  /** the refresh and rerate routes as this API process served them: cumulative count per latency bucket */
  refreshLatency: { count: number; buckets: Array<{ le: number; count: number }>; outcomes: Record<string, number> };
  temporal: { uiUrl?: string; namespace: string };
}

const GATES_TTL_MS = 60_000;

/**
 * One per API. The gates and the parity gate hash the tables for the data watermark: the page polls every 2 s, so
 * they are evaluated again only when new evidence arrives, else at most once a minute (the data moving under live
 * traffic).
 */
export function dashboardState(sources: StatusSources) {
  /** a read evaluated again when new evidence arrives, else at most once a minute */
  const cachedByEvidence = <T>(read: () => Promise<T>) => {
    let cached: { at: number; newest: number; value: Promise<T> } | undefined;
    return async (): Promise<T> => {
      const newest = (await listEvidence(sources.dbs.members, { limit: 1 }))[0]?.id ?? 0;
      if (!cached || cached.newest !== newest || Date.now() - cached.at > GATES_TTL_MS) {
        const value = read();
        cached = { at: Date.now(), newest, value };
        value.catch(() => (cached = undefined));
      }
      return cached.value;
    };
  };
  const evidenceGates = cachedByEvidence(() =>
    currentGates(sources.dbs.members).then((r) => ({ source: 'evidence' as const, at: r.evaluatedAt, gates: r.gates })),
  );
  const parityGate = cachedByEvidence(() => currentParityGate(sources.dbs.members));

  const rerateDeltas = async (): Promise<DashboardState['rerateDeltas']> => {
    const [latest] = await listEvidence(sources.dbs.members, { kind: 'rerate-preview', limit: 1 });
    if (!latest) return null;
    const e = await evidenceById(sources.dbs.members, latest.id);
    const r = e?.result as { stream?: string; final?: { preview?: { diff?: PreviewDiff } } } | undefined;
    const bands = r?.final?.preview?.diff?.histogram;
    return bands ? { evidenceId: latest.id, stream: r?.stream ?? '', createdAt: latest.createdAt, bands } : null;
  };

  const refreshLatency = async (): Promise<DashboardState['refreshLatency']> => {
    const m = await refreshSeconds.get();
    const buckets = new Map<number, number>();
    const outcomes: Record<string, number> = {};
    let count = 0;
    for (const v of m.values) {
      const labels = v.labels as Record<string, string | number | undefined>;
      if (v.metricName?.endsWith('_bucket') && labels.le !== undefined && labels.le !== '+Inf') {
        const le = Number(labels.le);
        buckets.set(le, (buckets.get(le) ?? 0) + v.value);
      } else if (v.metricName?.endsWith('_count')) {
        count += v.value;
        const o = String(v.labels.outcome ?? 'unknown');
        outcomes[o] = (outcomes[o] ?? 0) + v.value;
      }
    }
    return { count, outcomes, buckets: [...buckets].sort((a, b) => a[0] - b[0]).map(([le, c]) => ({ le, count: c })) };
  };

  return async function read(): Promise<DashboardState> {
    const status = await collectStatus({ ...sources, parityGate });
    const c = status.cutover;
    const gates =
      c && c.gatesAt
        ? { source: 'cutover' as const, at: c.gatesAt, gates: c.gates }
        : await evidenceGates().catch(() => ({ source: 'evidence' as const, at: null, gates: [] }));
    const [trail, backfill, deltas, latency] = await Promise.all([
      readSourceHistory(sources.dbs.members, 20),
      backfillThroughput(sources.dbs.members),
      rerateDeltas(),
      refreshLatency(),
    ]);
    return {
      at: new Date().toISOString(),
      status,
      gates,
      readSourceTrail: trail,
      backfill: backfill ?? null,
      rerateDeltas: deltas,
      refreshLatency: latency,
      temporal: { uiUrl: sources.temporal?.uiUrl, namespace: sources.config.temporal.namespace },
    };
  };
}
