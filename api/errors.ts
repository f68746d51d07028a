import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isTransient } from '../domain/failures';
import { ERROR_CODES, type ErrorStatus } from './schemas';

/**
 * Errors a route raises on purpose, with the status it means: 400 malformed, 401 unauthenticated, 403 forbidden,
 * 404 unknown, 405 wrong method, 409 conflict, 503 a dependency is down. Anything else is a 500 that says nothing
 * of its cause to the client (it is logged instead).
 */
export class HttpError extends Error {
  constructor(
    readonly statusCode: ErrorStatus,
    message: string,
    /** extra response headers, e.g. WWW-Authenticate on a 401 */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Ours say what they mean; fastify's own 4xx (body too large, bad JSON…) are malformed requests; the rest is ours to log. */
function statusOf(err: FastifyError | HttpError | Error): ErrorStatus | undefined {
  if (err instanceof HttpError) return err.statusCode;
  const s = (err as { statusCode?: number }).statusCode;
  if (s !== undefined && s >= 400 && s < 500) return 400;
  return undefined;
}

/** The documented error body for every status, and no stack or SQL in it. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) => {
    void reply.code(404).send({ error: ERROR_CODES[404], message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
  app.setErrorHandler((err: FastifyError | HttpError | Error, req, reply) => {
    const status = statusOf(err);
    if (status !== undefined) {
      if (err instanceof HttpError) void reply.headers(err.headers);
      return reply.code(status).send({ error: ERROR_CODES[status], message: err.message });
    }
    if (isTransient(err)) {
      req.log.warn({ err }, 'dependency unavailable');
      return reply.code(503).send({ error: ERROR_CODES[503], message: 'the member database is unavailable; retry shortly' });
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: ERROR_CODES[500], message: 'internal error' });
  });
}
