import type { Client } from '@temporalio/client';
import { setMaxListeners } from 'node:events';

/**
 * A request's Temporal calls end when the API closes (and with `also`, e.g. the request's own wait). A call still in
 * flight when the stack then closes its connection fails UNAVAILABLE, and the client's retry of it runs on the closed
 * channel inside a timer, where nothing catches it: the process dies. A request whose caller went away keeps running
 * (fastify does not wait for it), so closing must cancel its calls rather than wait for them.
 * The client adds an abort listener per call and never removes it: each request gets a signal of its own, linked to
 * the long-lived ones only while it runs.
 */
export async function untilClosed<T>(client: Client, closing: AbortSignal, fn: () => Promise<T>, also?: AbortSignal): Promise<T> {
  const mine = new AbortController();
  // its listeners (one per call, e.g. each long poll of a result) go with it when the request ends: no limit to warn at
  setMaxListeners(0, mine.signal);
  const abort = () => mine.abort();
  const sources = also ? [closing, also] : [closing];
  for (const s of sources) {
    if (s.aborted) mine.abort();
    else s.addEventListener('abort', abort, { once: true });
  }
  try {
    return await client.withAbortSignal(mine.signal, fn);
  } finally {
    for (const s of sources) s.removeEventListener('abort', abort);
  }
}
