import { createHash } from 'node:crypto';
import type { SourcePrint } from '../../domain/rerate-preview';
import type { LoadedStream } from './stream';

const hash = (s: string) => createHash('sha1').update(s).digest('base64url').slice(0, 16);

/**
 * What a rerate is computed from, hashed per member (their stored rows of the stream, as the replay reads them)
 * and per event (end date, participants and scores): a preview is promoted only if these are still the same.
 */
export function fingerprintStream(loaded: LoadedStream): SourcePrint {
  const rowsOf = new Map<string, string[]>();
  for (const r of loaded.stored) {
    const line = `${r.challengeId}|${r.eventAt}|${r.newRating ?? ''}|${r.newVolatility ?? ''}`;
    const list = rowsOf.get(r.userId);
    if (list) list.push(line);
    else rowsOf.set(r.userId, [line]);
  }
  const members: Record<string, string> = {};
  for (const [userId, lines] of rowsOf) members[userId] = hash(lines.sort().join('\n'));
  const events: Record<string, string> = {};
  for (const e of loaded.events) {
    const ps = e.participants.map((p) => `${p.userId}:${p.score}`).sort();
    events[e.challengeId] = hash(`${e.endDate.toISOString()}\n${ps.join('\n')}`);
  }
  return { members, events };
}
