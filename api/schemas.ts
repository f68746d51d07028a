import { z } from 'zod';
import { TRACKS } from '../domain/catalog';
import { READ_SOURCES } from '../domain/read-source';

/**
 * The API's inputs and error body. Response shapes live in domain/member-stats.ts (one shape for legacy and
 * unified reads). Zod is the single source: requests are validated with these schemas, and the JSON Schemas
 * fastify serialises with and publishes in the OpenAPI document are generated from them (openapi-3.0 dialect).
 */

export const HANDLE_PATTERN = /^[A-Za-z0-9_.\-{}[\]]+$/;
export const HandleParams = z.object({
  handle: z
    .string()
    .min(1, 'handle is empty')
    .max(64, 'handle is longer than 64 characters')
    .regex(HANDLE_PATTERN, 'handle may contain only letters, digits and - _ . { } [ ]')
    .meta({ description: 'member handle, matched case-insensitively' }),
});

const TRACK_NAMES = TRACKS.map((t) => t.track) as [string, ...string[]];
/** Unknown query parameters are rejected rather than ignored: a typo must not silently return everything. */
export const StatsQuery = z.strictObject({
  track: z
    .enum(TRACK_NAMES, { error: `track must be one of ${TRACK_NAMES.join(', ')}` })
    .optional()
    .meta({ description: 'only this track' }),
});

export const Health = z.object({
  status: z.enum(['ok', 'unavailable']),
  readSource: z.enum(READ_SOURCES).meta({ description: 'which tables answer member reads now' }),
  db: z.enum(['ok', 'unreachable']),
});

/** Error codes by HTTP status: one body shape for every error the API answers. */
export const ERROR_CODES = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  409: 'conflict',
  413: 'content_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  431: 'headers_too_large',
  500: 'internal',
  503: 'unavailable',
} as const;
export type ErrorStatus = keyof typeof ERROR_CODES;

export const ApiError = z.object({
  error: z.enum(Object.values(ERROR_CODES) as [string, ...string[]]),
  message: z.string(),
});
export type ApiError = z.infer<typeof ApiError>;

/** JSON Schema for fastify (serialisation, OpenAPI); `input` for request parts, whose raw form is what clients send. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  return z.toJSONSchema(schema, { target: 'openapi-3.0', io }) as Record<string, unknown>;
}
