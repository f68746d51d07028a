import { z } from 'zod';
import { UsageError } from '../cli-support';

/** The autopilot's flags, validated: every message names its flag (the CLI exits 2 with it). */

const number = (flag: string, what: string, pattern: RegExp = /^\s*\d+(\.\d+)?\s*$/) =>
  z
    .string({ error: `${flag} needs a value: ${what}` })
    .regex(pattern, `${flag} must be ${what}`)
    .transform((v) => Number(v.trim().replace(/\/s$/, '')));

const probability = (flag: string) =>
  number(flag, 'a probability from 0 to 1 (e.g. 0.1)').pipe(z.number().max(1, `${flag} must be a probability from 0 to 1 (e.g. 0.1)`));

export const MAX_RATE = 200;

const Flags = z.object({
  rate: number('--rate', `challenges per second, more than 0 and at most ${MAX_RATE} (e.g. 5 or 5/s)`, /^\s*\d+(\.\d+)?(\/s)?\s*$/)
    .pipe(
      z
        .number()
        .gt(0, `--rate must be challenges per second, more than 0 and at most ${MAX_RATE} (e.g. 5 or 5/s)`)
        .max(MAX_RATE, `--rate must be at most ${MAX_RATE} challenges per second`),
    )
    .default(1),
  duration: number('--duration', 'seconds from 1 to 3600')
    .pipe(z.number().min(1, '--duration must be seconds from 1 to 3600').max(3600, '--duration must be seconds from 1 to 3600'))
    .default(30),
  drop: probability('--drop').default(0),
  duplicate: probability('--duplicate').default(0),
  reorder: probability('--reorder').default(0),
  seed: z
    .string()
    .regex(/^\s*\d{1,10}\s*$/, '--seed must be a whole number from 0 to 2147483647')
    .transform(Number)
    .pipe(z.number().max(2 ** 31 - 1, '--seed must be a whole number from 0 to 2147483647'))
    .optional(),
  apiUrl: z
    .url({ protocol: /^https?$/, error: '--api-url must be the http(s) URL of the member stats API, e.g. http://127.0.0.1:3000' })
    .optional(),
  token: z.string().trim().min(1, '--token is empty').optional(),
  json: z.boolean().default(false),
});

export type AutopilotFlags = z.infer<typeof Flags>;

export function parseAutopilotFlags(raw: Record<string, unknown>): AutopilotFlags {
  const parsed = Flags.safeParse(raw);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
  return parsed.data;
}
