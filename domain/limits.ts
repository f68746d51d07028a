/** Bounds an operator can set, stated once for the CLI, the workflow validators and the option schemas. */
export const CONCURRENCY = { min: 1, max: 32 } as const;

export const concurrencyMessage = (flag = '--concurrency') => `${flag} must be between ${CONCURRENCY.min} and ${CONCURRENCY.max}`;

export function isConcurrency(n: number): boolean {
  return Number.isInteger(n) && n >= CONCURRENCY.min && n <= CONCURRENCY.max;
}

/**
 * The what-if rating tool's input bounds. The engine compares every pair, so work grows with the square of the
 * field: 5,000 participants (25 M pairs) rate in well under a second; no real event comes near it.
 */
export const RATE_INPUT = { maxParticipants: 5_000, maxBytes: 2 * 1024 * 1024 } as const;

/**
 * Database connections and how long work may wait on them. A batch holds one members connection at a time (it
 * never asks for a second while holding one), so the worker's pool fits the highest concurrency plus the small
 * activities beside it; the API has a pool of its own that a backfill cannot exhaust.
 */
export const DB_LIMITS = {
  workerPool: CONCURRENCY.max + 4,
  apiPool: 10,
  /** a reader waits at most this long for a connection, or for an answer on one, before it gets a 503 */
  apiWaitMs: 5_000,
  /** a query waiting longer than this for a connection fails its attempt (retried) instead of hanging */
  acquireTimeoutMs: 60_000,
  /** a batch waiting this long for a row lock (live writers) gives the lock up and its attempt is retried */
  lockTimeoutMs: 30_000,
  /** one statement of a batch running this long is stuck, not slow: the attempt fails and says so */
  statementTimeoutMs: 10 * 60_000,
} as const;

/**
 * The member stats API's request bounds (api/server.ts), overridable per ApiOptions (tests use short ones). A client
 * that trickles its headers or its body (slowloris) is answered 408 and closed once the header or request timeout
 * passes; Node checks those every `timeoutCheckMs`, so a connection lives at most timeout + check interval.
 */
export const API_LIMITS = {
  /** the whole header block */
  headersTimeoutMs: 10_000,
  /** the whole request, body included */
  requestTimeoutMs: 30_000,
  /** how often Node looks for connections past the two timeouts above (its default, 30 s, would double them) */
  timeoutCheckMs: 1_000,
  /** a socket with no traffic either way (a client that stops reading its response) */
  connectionTimeoutMs: 60_000,
  /** an idle kept-alive connection; above common load balancers' idle timeouts (60 s), as fastify's default */
  keepAliveTimeoutMs: 72_000,
  /** request bodies; the API's bodies are small JSON commands (a route may raise its own bodyLimit) */
  bodyLimitBytes: 64 * 1024,
  /** a path parameter: a handle of 65 to 100 characters gets a 400 naming the 64-character rule, a longer one a 414 */
  maxParamLength: 100,
  /** request line and headers together; more is a 431 (Node's default) */
  maxHeaderBytes: 16 * 1024,
} as const;
export type ApiLimits = { -readonly [K in keyof typeof API_LIMITS]: number };

/**
 * Members whose derived rows (mostRecent, stats, memberMaxRating) a rerate's finalize rewrites per transaction. One
 * transaction over a whole stream's members (about 100,000 on a large platform) held their locks for minutes and
 * deadlocked with live refreshes on every attempt; ranges keep each lock set small and short.
 */
export const FINALIZE_MEMBERS = 2_000;

/**
 * A backfill run that committed no batch for this long is stopped, paused or crashed, not running: live ratings stop
 * leaving the partition's ranks to its end (store/backfill/ranks.ts) and re-rank again themselves. Short, because a
 * run that stopped leaves the ratings it was left in its last window unranked until the partition's next re-rank
 * (its own rerun, or the next rating); a batch of 5,000 on the large seed commits every 4–8 s.
 */
export const BACKFILL_LIVE_MS = 2 * 60_000;
