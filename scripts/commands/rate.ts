import { closeSync, openSync, readSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { RATE_INPUT } from '../../domain/limits';
import { RATING_LIMIT, VOLATILITY_LIMIT, rateEvent } from '../../domain/rating/engine';

/**
 * `rate --input <file|->`: the engine's external interface and the operators' what-if tool.
 * Input {"participants":[{id, rating, volatility, timesRated, score}]}; output {"results":[{id, rating,
 * volatility, timesRated}]}, one per participant in input order. Ids are echoed exactly as given: a non-empty
 * string, or a safe integer (larger numbers cannot survive JSON parsing, so they are rejected — quote them).
 * rating and volatility are required, null meaning never rated / unknown. Unknown fields are ignored.
 * Invalid input → exit 2, one "path: problem" line per issue on stderr, nothing on stdout.
 */

const nullableBounded = (limit: number) =>
  z
    .number({ error: `expected a number in [0, ${limit}] or null` })
    .min(0, { error: `expected a number in [0, ${limit}] or null` })
    .max(limit, { error: `expected a number in [0, ${limit}] or null` })
    .nullable();

const idError = 'expected a non-empty string or a safe integer';

const Participant = z.object({
  id: z.union(
    [
      z.string().min(1, { error: idError }),
      z.number().int({ error: idError }).min(-Number.MAX_SAFE_INTEGER, { error: idError }).max(Number.MAX_SAFE_INTEGER, { error: idError }),
    ],
    { error: idError },
  ),
  rating: nullableBounded(RATING_LIMIT),
  volatility: nullableBounded(VOLATILITY_LIMIT),
  timesRated: z
    .number({ error: 'expected a non-negative integer' })
    .int({ error: 'expected a non-negative integer' })
    .min(0, { error: 'expected a non-negative integer' })
    .max(Number.MAX_SAFE_INTEGER - 1, { error: 'expected a non-negative integer' }),
  score: z.number({ error: 'expected a finite number' }),
});

const Input = z.object(
  {
    participants: z
      .array(Participant, { error: 'expected an array' })
      .max(RATE_INPUT.maxParticipants, { error: `at most ${RATE_INPUT.maxParticipants} participants: split the field or rate a sample` }),
  },
  { error: 'expected an object {"participants":[...]}' },
);

export interface RateOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? 'input' : out;
}

const invalid = (lines: string[]): RateOutcome => ({ exitCode: 2, stdout: '', stderr: lines.join('\n') + '\n' });

/** Parses, validates and rates; pure apart from the engine (no process or stream access). */
export function runRate(inputText: string): RateOutcome {
  const bytes = Buffer.byteLength(inputText, 'utf8');
  if (bytes > RATE_INPUT.maxBytes) {
    return invalid([
      `input: ${bytes} bytes is more than ${RATE_INPUT.maxBytes} (at most ${RATE_INPUT.maxParticipants} participants are rated at once)`,
    ]);
  }
  let json: unknown;
  try {
    json = JSON.parse(inputText);
  } catch (err) {
    return invalid([`input: invalid JSON (${(err as Error).message})`]);
  }
  const parsed = Input.safeParse(json);
  if (!parsed.success) {
    return invalid(parsed.error.issues.slice(0, 20).map((i) => `${formatPath(i.path)}: ${i.message}`));
  }
  const participants = parsed.data.participants;
  const firstAt = new Map<string | number, number>();
  const dupes: string[] = [];
  participants.forEach((p, i) => {
    const first = firstAt.get(p.id);
    if (first === undefined) firstAt.set(p.id, i);
    else dupes.push(`participants[${i}].id: duplicate id ${JSON.stringify(p.id)} (first at participants[${first}])`);
  });
  if (dupes.length > 0) return invalid(dupes.slice(0, 20));
  // the engine keys by string; key by position so "1" and 1 stay distinct and every id is echoed untouched
  const rated = rateEvent(participants.map((p, i) => ({ ...p, id: String(i) })));
  const results = rated.map((r, i) => ({ ...r, id: participants[i]!.id }));
  return { exitCode: 0, stdout: JSON.stringify({ results }) + '\n', stderr: '' };
}

/** At most one byte past the limit is read: a huge file or an endless stdin is refused without being held in memory. */
function readInput(source: string): string {
  const fd = source === '-' ? 0 : openSync(source, 'r');
  try {
    const buf = Buffer.alloc(RATE_INPUT.maxBytes + 1);
    let n = 0;
    for (let got = -1; got !== 0 && n < buf.length; n += got) {
      try {
        got = readSync(fd, buf, n, buf.length - n, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue; // a non-blocking stdin not ready yet
        throw e;
      }
    }
    return buf.subarray(0, n).toString('utf8');
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

export function registerRate(program: Command): void {
  program
    .command('rate')
    .description('rate one event with the two-pass rating engine (what-if tool); JSON in, JSON out')
    .requiredOption('--input <file|->', 'JSON file with {"participants":[...]}, or - for stdin')
    .action((opts: { input: string }) => {
      let text: string;
      try {
        text = readInput(opts.input);
      } catch (err) {
        process.stderr.write(`input: cannot read ${opts.input} (${(err as Error).message})\n`);
        process.exitCode = 2;
        return;
      }
      const outcome = runRate(text);
      if (outcome.stdout) process.stdout.write(outcome.stdout);
      if (outcome.stderr) process.stderr.write(outcome.stderr);
      process.exitCode = outcome.exitCode;
    });
}
