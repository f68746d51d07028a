import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { summarize } from '../domain/latency';
import { publishReadLatency } from '../store/health';

export interface LatencyOptions {
  /** how often the window is published (ms) */
  flushMs?: number;
  /** the window's length (ms) */
  windowMs?: number;
}

/**
 * Measures member reads (what live readers feel) and publishes this process's recent p50/p99 to
 * platform."readLatency" once a second, where long phases read it to throttle themselves. Health checks and the
 * OpenAPI document are not reads; a publish that fails is logged and retried on the next tick, never fatal.
 */
export function recordReadLatency(app: FastifyInstance, db: Kysely<any>, opts: LatencyOptions = {}): void {
  const windowMs = opts.windowMs ?? 5000;
  const instance = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const samples: Array<{ at: number; ms: number }> = [];
  app.addHook('onResponse', async (req, reply) => {
    const url = req.routeOptions.url ?? '';
    // answered reads only: a flood of cheap rejections (400, 404) must not pull the p99 down and hide slow reads
    if (req.method === 'GET' && url.startsWith('/members/:handle') && reply.statusCode < 300) {
      samples.push({ at: Date.now(), ms: reply.elapsedTime });
    }
  });
  let publishing = false;
  const timer = setInterval(() => {
    const since = Date.now() - windowMs;
    while (samples.length > 0 && samples[0]!.at < since) samples.shift();
    if (samples.length === 0 || publishing) return;
    publishing = true;
    publishReadLatency(db, instance, summarize(samples.map((s) => s.ms)))
      .catch((e: Error) => app.log.warn({ err: e }, 'read latency not published'))
      .finally(() => (publishing = false));
  }, opts.flushMs ?? 1000);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
}
