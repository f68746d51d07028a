import type { Client } from '@temporalio/client';

/**
 * A request's Temporal calls end when the API closes (and with `also`, e.g. the request's own wait). A call still in
 * flight when the stack then closes its connection fails UNAVAILABLE, and the client's retry of it runs on the closed
 * channel inside a timer, where nothing catches it: the process dies. A request whose caller went away keeps running
 * (fastify does not wait for it), so closing must cancel its calls rather than wait for them.
 */
export function untilClosed<T>(client: Client, closing: AbortSignal, fn: () => Promise<T>, also?: AbortSignal): Promise<T> {
  return client.withAbortSignal(also ? AbortSignal.any([closing, also]) : closing, fn);
}
