import { performance } from 'node:perf_hooks';

/**
 * The call autopilot makes when a challenge ends: `POST <api>/members/stats/challenges/<challengeId>/ended` with the
 * M2M bearer token and an empty JSON body. 200 = done, 202 = accepted and still running (the body names the
 * workflow). A 503 or a refused connection (the API restarting) is retried with exponential backoff a few times;
 * a 4xx never is (the request itself is wrong); other answers are final.
 */

export interface CallOptions {
  /** retries after the first attempt (default 4) */
  retries?: number;
  /** first backoff (ms), doubled per retry, with up to 50% jitter (default 100) */
  backoffMs?: number;
  /** one attempt's limit (ms; default 60 s: the route may wait for its workflow) */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** randomness for the jitter (default Math.random: timing only, never data) */
  random?: () => number;
}

export interface CallResult {
  challengeId: string;
  /** the final HTTP status; null when no answer came (network error, timeout) */
  status: number | null;
  /** first attempt to final answer, backoff included */
  latencyMs: number;
  retries: number;
  /** the answer's JSON body (200: the refresh summary; 202: {workflowId}) */
  body?: unknown;
  /** why there was no answer */
  error?: string;
}

export function endedUrl(apiUrl: string, challengeId: string): string {
  return `${apiUrl.replace(/\/+$/, '')}/members/stats/challenges/${encodeURIComponent(challengeId)}/ended`;
}

const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET']);

function networkCode(e: unknown): string | undefined {
  for (let c: unknown = e; c instanceof Error; c = c.cause) {
    const code = (c as { code?: string }).code;
    if (code) return code;
  }
  return undefined;
}

function describe(e: unknown): string {
  const code = networkCode(e);
  const msg = e instanceof Error ? e.message : String(e);
  return code ? `${code}: ${msg}` : msg;
}

export async function callEnded(apiUrl: string, token: string, challengeId: string, opts: CallOptions = {}): Promise<CallResult> {
  const { retries: maxRetries = 4, backoffMs = 100, timeoutMs = 60_000, random = Math.random } = opts;
  const doFetch = opts.fetch ?? fetch;
  const url = endedUrl(apiUrl, challengeId);
  const started = performance.now();
  let retries = 0;
  for (;;) {
    let retryable: boolean;
    let result: Omit<CallResult, 'latencyMs' | 'retries'>;
    let retryAfterMs = 0;
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
        body: '{}',
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        // not JSON: kept as text
      }
      result = { challengeId, status: res.status, body };
      retryable = res.status === 503;
      const after = Number(res.headers.get('retry-after'));
      if (retryable && Number.isFinite(after) && after > 0) retryAfterMs = Math.min(after * 1000, 5_000);
    } catch (e) {
      result = { challengeId, status: null, error: describe(e) };
      retryable = RETRYABLE_CODES.has(networkCode(e) ?? '');
    }
    if (!retryable || retries >= maxRetries) return { ...result, latencyMs: performance.now() - started, retries };
    const wait = Math.max(retryAfterMs, backoffMs * 2 ** retries * (1 + 0.5 * random()));
    retries++;
    await new Promise((r) => setTimeout(r, wait));
  }
}
