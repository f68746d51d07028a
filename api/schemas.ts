import { z } from 'zod';
import { TRACKS } from '../domain/catalog';
import { READ_SOURCES } from '../lib/read-source';

/**
 * The API's one response shape, for legacy and unified reads alike, and its inputs. Zod is the single source:
 * requests are validated with these schemas, and the JSON Schemas fastify serialises with and publishes in the
 * OpenAPI document are generated from them (openapi-3.0 dialect: nullable instead of type unions).
 */

const int = z.number().int();
const nint = int.nullable();
const num = z.number().nullable();
const timestamp = (description: string) => z.string().meta({ format: 'date-time', description });

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
  track: z.enum(TRACK_NAMES, { error: `track must be one of ${TRACK_NAMES.join(', ')}` }).optional().meta({ description: 'only this track' }),
});

export const TrackStats = z.object({
  track: z.string().meta({ description: 'track name from the challenge catalogue, e.g. DEVELOPMENT' }),
  type: z.string().meta({ description: 'challenge type name, e.g. Challenge, SRM, Marathon Match' }),
  challenges: int,
  wins: int,
  rating: nint,
  volatility: nint,
  maxRating: nint,
  minRating: nint,
  globalRank: nint,
  countryRank: nint,
  schoolRank: nint,
  percentile: num,
  avgRank: num,
  avgNumSubmissions: num,
  bestRank: nint,
  topFiveFinishes: nint,
  topTenFinishes: nint,
  mostRecentEventDate: timestamp('ISO 8601').nullable(),
  mostRecentSubmission: timestamp('ISO 8601').nullable(),
});
export type TrackStats = z.infer<typeof TrackStats>;

export const MaxRating = z.object({
  rating: int,
  track: z.string(),
  subTrack: z.string().meta({ description: 'challenge type name of the rated row' }),
  ratingColor: z.string(),
});
export type MaxRating = z.infer<typeof MaxRating>;

const ReadSourceEnum = z.enum(READ_SOURCES).meta({ description: 'which tables answered this request' });

export const MemberStats = z.object({
  userId: int,
  handle: z.string(),
  handleLower: z.string(),
  readSource: ReadSourceEnum,
  tracks: z.array(TrackStats).meta({ description: 'one entry per (track, type), sorted by track then type' }),
  maxRating: MaxRating.nullable().meta({ description: 'highest current rating across the rated entries; null when unrated' }),
});
export type MemberStats = z.infer<typeof MemberStats>;

export const HistoryEntry = z.object({
  track: z.string(),
  type: z.string(),
  challengeId: z.string().meta({ description: 'legacy numeric id or challenge UUID, as text' }),
  challengeName: z.string().nullable(),
  date: timestamp('event (rating) date, ISO 8601'),
  rating: nint.meta({ description: 'rating after this event' }),
  placement: nint,
  percentile: num,
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

export const MemberHistory = z.object({
  userId: int,
  handle: z.string(),
  readSource: ReadSourceEnum,
  history: z.array(HistoryEntry).meta({ description: 'chronological; ties by challengeId (as text), then track, type' }),
});
export type MemberHistory = z.infer<typeof MemberHistory>;

export const Health = z.object({
  status: z.enum(['ok', 'unavailable']),
  readSource: ReadSourceEnum,
  db: z.enum(['ok', 'unreachable']),
});

export const ApiError = z.object({
  error: z.enum(['bad_request', 'not_found', 'internal']),
  message: z.string(),
});

/** JSON Schema for fastify (serialisation, OpenAPI); `input` for request parts, whose raw form is what clients send. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  return z.toJSONSchema(schema, { target: 'openapi-3.0', io }) as Record<string, unknown>;
}
