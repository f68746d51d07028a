import type { FastifyPluginAsync } from 'fastify';
import { Counter, Gauge, Registry } from 'prom-client';
import { PARITY_CATEGORIES, type ParityReport } from '../domain/parity';
import { processMetrics } from '../lib/metrics';
import { readCutover } from '../store/cutover';
import type { Databases } from '../store/db';
import { evidenceById, listEvidence } from '../store/gates';
import { legacyReadCount } from '../store/legacy-reads';
import type { ReadSourceReader } from '../store/read-source';
import { reconcileLag } from '../store/refresh/reconcile';

/**
 * GET /metrics (Prometheus text format): this process's own metrics (lib/metrics.ts), the platform's state read
 * from the database at scrape time (read source, legacy reads per route, the reconciler, the cutover's state,
 * blocked steps and gates, the latest parity run's differences), and the Temporal SDK's worker metrics relayed
 * from the runtime's exporter when this process runs a worker with one. A part that cannot be read is left out
 * and counted in cutover_metrics_scrape_errors_total: a scrape never fails because the database blinked.
 */
export interface MetricsOptions {
  dbs: Pick<Databases, 'members'> & Partial<Pick<Databases, 'challenges'>>;
  readSource: ReadSourceReader;
  /** the runtime's Prometheus exporter, e.g. http://127.0.0.1:9464/metrics */
  workerMetricsUrl?: string;
}

function stateMetrics() {
  const registry = new Registry();
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Gauge<L>({ name, help, labelNames, registers: [registry] });
  return {
    registry,
    readSource: gauge('cutover_read_source', 'The read source the API serves: 1 on the current one', ['source']),
    legacyReads: new Counter({
      name: 'cutover_legacy_reads_total',
      help: 'Reads served from the legacy tables, per route, as counted in platform."legacyRead" (all processes)',
      labelNames: ['route'],
      registers: [registry],
    }),
    legacyLastRead: gauge('cutover_legacy_last_read_timestamp_seconds', 'When legacy was last read, per route', ['route']),
    reconcilerBehind: gauge('cutover_reconciler_behind_challenges', 'Completed challenges past the refresh reconciler’s mark'),
    reconcilerLag: gauge(
      'cutover_reconciler_lag_seconds',
      'Age of the oldest completed challenge the reconciler has not reached (0 when none is behind)',
    ),
    reconcilerMark: gauge('cutover_reconciler_high_water_mark_timestamp_seconds', 'End date of the reconciler’s high-water mark'),
    cutoverState: gauge('cutover_state', 'The latest cutover’s state: 1 on the current one', ['cutover', 'state']),
    blocked: gauge('cutover_blocked_steps', 'Steps the cutover is blocked on (waiting for retry, rollback or abort)', ['cutover', 'step']),
    blockedSince: gauge('cutover_blocked_since_timestamp_seconds', 'When the blocked step failed', ['cutover', 'step']),
    gate: gauge('cutover_gate_holds', 'Each go/no-go gate as the cutover last evaluated it: 1 holds, 0 not', ['cutover', 'gate']),
    parityDiffs: gauge('cutover_parity_differences', 'Differences per category in the latest parity run', ['category']),
    parityPassed: gauge('cutover_parity_last_run_passed', 'The latest parity run (its evidence id): 1 clean, 0 differences or stopped', [
      'evidence',
    ]),
    parityAt: gauge('cutover_parity_last_run_timestamp_seconds', 'When the latest parity run was recorded', ['evidence']),
    errors: new Counter({
      name: 'cutover_metrics_scrape_errors_total',
      help: 'Parts of the state a scrape could not read',
      labelNames: ['part'],
      registers: [registry],
    }),
  };
}

const seconds = (iso: string | Date) => new Date(iso).getTime() / 1000;

export function metricsRoutes(opts: MetricsOptions): FastifyPluginAsync {
  return async (app) => {
    const m = stateMetrics();
    const db = opts.dbs.members;
    const parts: Record<string, () => Promise<void>> = {
      async readSource() {
        const current = opts.readSource.current();
        for (const s of ['legacy', 'unified']) m.readSource.set({ source: s }, s === current ? 1 : 0);
      },
      async legacyReads() {
        const c = await legacyReadCount(db);
        m.legacyReads.reset();
        m.legacyLastRead.reset();
        for (const r of c.perRoute) {
          m.legacyReads.inc({ route: r.route }, r.count);
          m.legacyLastRead.set({ route: r.route }, seconds(r.lastReadAt));
        }
      },
      async reconciler() {
        if (!opts.dbs.challenges) return;
        const l = await reconcileLag({ members: db, challenges: opts.dbs.challenges } as Databases);
        m.reconcilerBehind.set(l.behind);
        m.reconcilerLag.set(l.oldestBehind ? Math.max(0, Date.now() / 1000 - seconds(l.oldestBehind)) : 0);
        if (l.mark) m.reconcilerMark.set(seconds(l.mark.endDate));
      },
      async cutover() {
        const c = await readCutover(db);
        m.cutoverState.reset();
        m.blocked.reset();
        m.blockedSince.reset();
        m.gate.reset();
        if (!c) return;
        const s = c.status;
        m.cutoverState.set({ cutover: s.name, state: s.state }, 1);
        for (const step of s.steps.filter((x) => x.status === 'failed' && s.state === 'blocked')) {
          m.blocked.set({ cutover: s.name, step: step.step }, 1);
          m.blockedSince.set({ cutover: s.name, step: step.step }, seconds(step.endedAt ?? c.updatedAt));
        }
        for (const g of s.gates) m.gate.set({ cutover: s.name, gate: g.gate }, g.holds ? 1 : 0);
      },
      async parity() {
        const [latest] = await listEvidence(db, { kind: 'parity', limit: 1 });
        m.parityDiffs.reset();
        m.parityPassed.reset();
        m.parityAt.reset();
        if (!latest) return;
        const evidence = String(latest.id);
        m.parityPassed.set({ evidence }, latest.passed ? 1 : 0);
        m.parityAt.set({ evidence }, seconds(latest.createdAt));
        const report = (await evidenceById(db, latest.id))?.result as Partial<ParityReport> | undefined;
        for (const cat of PARITY_CATEGORIES) {
          const r = report?.categories?.[cat];
          if (r) m.parityDiffs.set({ category: cat }, r.count);
        }
      },
    };

    const workerMetrics = async (): Promise<string> => {
      if (!opts.workerMetricsUrl) return '';
      const r = await fetch(opts.workerMetricsUrl, { signal: AbortSignal.timeout(2000) });
      if (!r.ok) throw new Error(`worker metrics answered ${r.status}`);
      return r.text();
    };

    app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
      await Promise.all(
        Object.entries(parts).map(([part, read]) =>
          read().catch((e: Error) => {
            m.errors.inc({ part });
            app.log.warn({ err: e, part }, 'metrics: part of the state not read');
          }),
        ),
      );
      const worker = await workerMetrics().catch((e: Error) => {
        m.errors.inc({ part: 'worker' });
        app.log.warn({ err: e }, 'metrics: worker metrics not relayed');
        return '';
      });
      const ours = await Registry.merge([processMetrics, m.registry]).metrics();
      void reply.header('content-type', processMetrics.contentType);
      return `${ours}\n${worker}`;
    });
  };
}
