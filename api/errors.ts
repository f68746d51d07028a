import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isTransient } from '../domain/failures';
import { allowedMethods } from './route-table';
import { ERROR_CODES, type ApiError, type ErrorStatus } from './schemas';

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

/** The one error body (api/schemas.ts ApiError). */
export const errorBody = (status: ErrorStatus, message: string): ApiError => ({ error: ERROR_CODES[status], message });

/** Client input echoed in a message, cut short: a 10,000-character path need not come back whole. */
export const echo = (s: string, max = 100): string => (s.length > max ? `${s.slice(0, max)}…` : s);

const isErrorStatus = (s: number): s is ErrorStatus => Object.hasOwn(ERROR_CODES, s);

/** fastify's messages that repeat the whole offending path: said without it */
const FASTIFY_MESSAGES: Record<string, string> = {
  FST_ERR_BAD_URL: 'the URL is not validly percent-encoded',
  FST_ERR_MAX_PARAM_LENGTH: 'a path segment is too long',
};

/**
 * Ours say what they mean; fastify's own 4xx (413 body too large, 414 path parameter too long, 415 media type, 400
 * bad JSON or URL…) keep their status where it is documented, any other 4xx is a malformed request; the rest is ours
 * to log.
 */
function statusOf(err: FastifyError | HttpError | Error): ErrorStatus | undefined {
  if (err instanceof HttpError) return err.statusCode;
  const s = (err as { statusCode?: number }).statusCode;
  if (s === undefined || s < 400 || s >= 500) return undefined;
  return isErrorStatus(s) ? s : 400;
}

function send4xx(reply: FastifyReply, status: ErrorStatus, err: Error): FastifyReply {
  const code = (err as { code?: unknown }).code;
  const message = (typeof code === 'string' ? FASTIFY_MESSAGES[code] : undefined) ?? err.message;
  if (err instanceof HttpError) void reply.headers(err.headers);
  return reply.code(status).send(errorBody(status, message));
}

function answer(err: FastifyError | HttpError | Error, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = statusOf(err);
  if (status !== undefined) return send4xx(reply, status, err);
  if (isTransient(err)) {
    req.log.warn({ err }, 'dependency unavailable');
    return reply.code(503).send(errorBody(503, 'the member database is unavailable; retry shortly'));
  }
  req.log.error({ err }, 'request failed');
  return reply.code(500).send(errorBody(500, 'internal error'));
}

/** fastify's router-level errors (bad percent-encoding, a too-long path parameter), raised before any route runs. */
export function frameworkErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  void answer(err, req, reply);
}

/** The documented error body for every status, and no stack or SQL in it; 405 naming the methods a known path has. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) => {
    const path = echo(req.url.split('?')[0] ?? '');
    const allow = allowedMethods(app, req.url);
    if (allow.length === 0) return reply.code(404).send(errorBody(404, `no route ${req.method} ${path}`));
    const methods = allow.join(', ');
    return reply
      .code(405)
      .header('allow', methods)
      .send(errorBody(405, `${req.method} is not allowed on ${path} (allowed: ${methods})`));
  });
  app.setErrorHandler(answer);
}
