import { Counter, Histogram, Registry } from 'prom-client';

/**
 * The process's own metrics: what activities and API routes observe as they run (the worker's activity durations
 * and rows written, the refresh route's latency). State that lives in the database (read source, legacy reads,
 * the reconciler, gates, parity) is read at scrape time by api/metrics.ts; the Temporal SDK's worker metrics come
 * from the runtime's own Prometheus exporter. All three are served together at the API's /metrics.
 */
export const processMetrics = new Registry();

export const activitySeconds = new Histogram({
  name: 'cutover_activity_duration_seconds',
  help: 'Duration of each activity attempt (a backfill batch, a rerate chunk, a parity category, …) by phase and outcome',
  labelNames: ['phase', 'activity', 'outcome'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  registers: [processMetrics],
});

export const rowsWritten = new Counter({
  name: 'cutover_rows_written_total',
  help: 'Rows written to the unified tables by phase (backfill batches, rerate chunks, refreshes); resumed batches count once',
  labelNames: ['phase'] as const,
  registers: [processMetrics],
});

export const refreshSeconds = new Histogram({
  name: 'cutover_refresh_request_duration_seconds',
  help: 'The refresh and rerate routes: from request to answer, by route and outcome (done, accepted = still running, refused, failed)',
  labelNames: ['route', 'outcome'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [processMetrics],
});
