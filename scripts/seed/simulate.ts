import {
  developmentParticipants,
  marathonParticipants,
  type ChallengeResultRow,
  type ReviewSummationRow,
  type SubmissionRow,
} from '../../domain/rating/participants';
import { competitionPlacements } from '../../domain/rating/placement';
import type { HistoryRow, MemberState } from '../../domain/rating/replay';
import { DATA_SCIENCE_SUBTRACKS, DEVELOP_SUBTRACKS } from '../../domain/catalog';
import type { PlannedChallenge } from './calendar';
import { ts, type CopySink } from './copy';
import { ActivePools, TRACKS_N, type Population } from './population';
import { Injector, pickExclusive, type Rng } from './prng';
import { applyLegacyEvent } from './legacy-rating';
import { ANOMALY_RATES, DATA_NOW, HAND_CORRECTION_RATE, MS, TRACK_ORDER, type StatsItem } from './profile';

/**
 * Plays the platform's history challenge by challenge in end-date order and streams what each leaves behind:
 * the Challenge row and its metadata, every participant's challengeResult, Marathon Match submissions and review
 * summations, ChallengeWinner rows, and — for rated events — the legacy history rows. Per-member legacy stats are
 * accumulated in memory (ItemAgg) and written afterwards by legacy-stats.ts.
 *
 * Legacy ratings are produced by the old system's process (legacy-rating.ts: the older port's weight boundary,
 * newcomers rated against already-updated ratings, occasional hand corrections) from the participants our rules
 * select (domain/rating/participants), so our engine did not write them: a migration that recomputes instead of
 * preserving shows as parity differences. Challenges completed after the legacy end are not in the legacy data at all
 * (no ratings, stats or history): the backfill rates those. Streams: Development (Challenge + legacy CODE, one
 * rating across both), Marathon Match, and SRM (legacy only; scored like Development).
 */

export interface LoopSinks {
  challenge: CopySink;
  metadata: CopySink;
  winner: CopySink;
  result: CopySink;
  submission: CopySink;
  summation: CopySink;
  devHistory: CopySink;
  dsHistory: CopySink;
}

export const ITEM_NAMES = [
  'DEVELOPMENT',
  'CODE',
  'FIRST_2_FINISH',
  'ARCHITECTURE',
  'ASSEMBLY_COMPETITION',
  'UI_PROTOTYPE_COMPETITION',
  'BUG_HUNT',
  'WEB_DESIGNS',
  'LOGO_DESIGN',
  'WIDGET_OR_MOBILE_SCREEN_DESIGN',
  'DESIGN_FIRST_2_FINISH',
  'MARATHON_MATCH',
  'SRM',
] as const;
export const ITEM_SLOTS = 16;

export function itemCode(item: NonNullable<StatsItem>): number {
  const name = item.table === 'marathon' ? 'MARATHON_MATCH' : item.table === 'srm' ? 'SRM' : item.name;
  return ITEM_NAMES.indexOf(name);
}

/** One member's legacy stats on one sub-track (memberDevelopStatsItem / memberDesignStatsItem / MM / SRM). */
export interface ItemAgg {
  challenges: number;
  wins: number;
  submissions: number;
  passedScreening: number;
  placementSum: number;
  placementCount: number;
  mostRecentSubmission: number;
  mostRecentEventDate: number;
  mostRecentEventName: string;
  rating: number | null;
  volatility: number | null;
  maxRating: number | null;
  minRating: number | null;
  competitions: number;
  rankSum: number;
  bestRank: number | null;
  topFive: number;
  topTen: number;
}

export interface SimResult {
  /** key member * ITEM_SLOTS + itemCode */
  aggs: Map<number, ItemAgg>;
  /** memberHistoryStats.id per member, 0 = none */
  historyStatsId: Float64Array;
  participated: Uint8Array;
  anomalies: {
    submissionDeleted: number;
    summationNoFinal: number;
    summationSupersededFinal: number;
    summationZeroScore: number;
    scorePlaceholder: number;
    partialPlacement: number;
    invalidSubmission: number;
    statsWithoutHistory: number;
    legacyMarathonHistoryAlias: number;
  };
}

type Stream = 'DEV' | 'MM' | 'SRM';

interface Entry {
  m: number;
  userId: string;
  /** the score the member really earned (challengeResult.finalScore before placeholders) */
  score: number;
  passed: boolean;
  placement: number;
  submittedAt: number;
  submissions: number;
  /** Marathon Match: has a submission the rating rules count */
  eligible: boolean;
}

interface MmSubmission {
  row: SubmissionRow;
  m: number;
  score: number;
  anomaly: 'deleted' | 'noFinal' | 'superseded' | 'zeroScore' | null;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

export class Simulation {
  private readonly pools: ActivePools;
  private readonly states: Record<Stream, Map<string, MemberState>> = { DEV: new Map(), MM: new Map(), SRM: new Map() };
  private readonly streamSeq: Record<Stream, number> = { DEV: 0, MM: 0, SRM: 0 };
  private readonly everRated: Uint8Array;
  private readonly noHistory: Uint8Array;
  private readonly ids = { metadata: 0, winner: 0, devHistory: 0, dsHistory: 0, historyStats: 0 };
  private readonly rowInjectors: ReadonlyArray<readonly ['scorePlaceholder' | 'partialPlacement' | 'invalidSubmission', Injector]>;
  private readonly submissionInjectors: ReadonlyArray<readonly ['deleted' | 'noFinal' | 'superseded' | 'zeroScore', Injector]>;
  private readonly noHistoryInjector: Injector;
  private readonly aliasInjector: Injector;
  private readonly correctionInjector: Injector;
  private readonly correctionRng: Rng;
  readonly result: SimResult;

  constructor(
    private readonly rng: Rng,
    private readonly pop: Population,
    private readonly sinks: LoopSinks,
    /** the end date of the last challenge the legacy data holds (profile.ts legacyEndOf) */
    private readonly legacyEnd: number,
  ) {
    this.pools = new ActivePools(pop);
    this.everRated = new Uint8Array(pop.n);
    this.noHistory = new Uint8Array(pop.n);
    const inj = (kind: string, rate: number) => new Injector(rng.fork(`anomaly/${kind}`), rate);
    this.rowInjectors = [
      ['scorePlaceholder', inj('scorePlaceholder', ANOMALY_RATES.scorePlaceholder)],
      ['partialPlacement', inj('partialPlacement', ANOMALY_RATES.partialPlacement)],
      ['invalidSubmission', inj('invalidSubmission', ANOMALY_RATES.invalidSubmission)],
    ];
    this.submissionInjectors = [
      ['deleted', inj('submissionDeleted', ANOMALY_RATES.submissionDeleted)],
      ['noFinal', inj('summationNoFinal', ANOMALY_RATES.summationNoFinal)],
      ['superseded', inj('summationSupersededFinal', ANOMALY_RATES.summationSupersededFinal)],
      ['zeroScore', inj('summationZeroScore', ANOMALY_RATES.summationZeroScore)],
    ];
    this.noHistoryInjector = inj('statsWithoutHistory', ANOMALY_RATES.statsWithoutHistory);
    this.aliasInjector = inj('legacyMarathonHistoryAlias', ANOMALY_RATES.legacyMarathonHistoryAlias);
    this.correctionInjector = inj('legacyHandCorrection', HAND_CORRECTION_RATE);
    this.correctionRng = rng.fork('legacy/handCorrection');
    this.result = {
      aggs: new Map(),
      historyStatsId: new Float64Array(pop.n),
      participated: new Uint8Array(pop.n),
      anomalies: {
        submissionDeleted: 0,
        summationNoFinal: 0,
        summationSupersededFinal: 0,
        summationZeroScore: 0,
        scorePlaceholder: 0,
        partialPlacement: 0,
        invalidSubmission: 0,
        statsWithoutHistory: 0,
        legacyMarathonHistoryAlias: 0,
      },
    };
  }

  /** Plays one challenge: its rows go to the sinks (the caller flushes them between challenges). */
  play(c: PlannedChallenge): void {
    const rng = this.rng;
    const kind = c.kind;
    const track = TRACK_ORDER.indexOf(kind.track);
    this.pools.advance(c.endAt);

    let status = 'COMPLETED';
    if (c.endAt > DATA_NOW) status = 'ACTIVE';
    else {
      const s = rng.next();
      if (s < 0.015) status = 'CANCELLED_FAILED_REVIEW';
      else if (s < 0.025) status = 'CANCELLED_REQUIREMENTS_INFEASIBLE';
    }
    let members: number[] = [];
    if (status === 'COMPLETED' || status === 'CANCELLED_FAILED_REVIEW') {
      const wanted = Math.min(kind.max, Math.max(1, Math.round(kind.sigma > 0 ? rng.logNormal(kind.median, kind.sigma) : kind.median)));
      const room = Math.max(1, Math.floor(0.6 * this.pools.size(track)));
      members = this.pools.sample(rng, track, Math.min(wanted, room), c.endAt);
      if (members.length === 0) status = 'CANCELLED_ZERO_SUBMISSIONS';
    }
    this.writeChallenge(c, status);
    if (members.length === 0) return;

    const completed = status === 'COMPLETED';
    let entries: Entry[];
    let mm: { submissions: MmSubmission[]; summations: ReviewSummationRow[] } = { submissions: [], summations: [] };
    if (kind.score === 'marathon') ({ entries, ...mm } = this.marathon(c, members, track, completed));
    else entries = this.scored(c, members, track, completed);

    // challengeResult as stored: the true outcome with row anomalies injected (at most one per row)
    const rows: (ChallengeResultRow & { entry: Entry })[] = entries.map((e) => {
      const row = {
        challengeId: c.id,
        userId: e.userId,
        placement: e.placement as number | null,
        finalScore: e.score as number | null,
        validSubmission: true as boolean | null,
        entry: e,
      };
      switch (pickExclusive(this.rowInjectors)) {
        case 'scorePlaceholder':
          row.finalScore = rng.chance(0.5) ? 0 : -1;
          break;
        case 'partialPlacement':
          row.placement = rng.chance(0.5) ? null : 0;
          break;
        case 'invalidSubmission':
          row.validSubmission = false;
          break;
      }
      return row;
    });

    const stream: Stream | null =
      kind.key === 'dev' || kind.key === 'code' ? 'DEV' : kind.key === 'mm' ? 'MM' : kind.key === 'srm' ? 'SRM' : null;
    const rated = new Map<string, HistoryRow>();
    let ratingOrder: number | null = null;
    // the legacy data ends at LEGACY_END: later challenges were never rated or counted by the old system
    const legacyKnows = c.endAt <= this.legacyEnd;
    if (completed && c.rated && stream && legacyKnows) {
      const participants =
        stream === 'MM'
          ? marathonParticipants(
              c.id,
              mm.submissions.map((s) => s.row),
              mm.summations,
              rows,
            )
          : developmentParticipants(c.id, rows);
      if (participants.length > 0) {
        ratingOrder = ++this.streamSeq[stream];
        const history = applyLegacyEvent({ challengeId: c.id, endDate: new Date(c.endAt), participants }, this.states[stream], () =>
          this.correctionInjector.hit() ? (this.correctionRng.chance(0.5) ? 1 : -1) * this.correctionRng.int(5, 40) : 0,
        );
        for (const h of history) rated.set(h.userId, h);
        this.writeHistory(c, stream, entries, rated);
      }
    }

    const resultAt = ts(c.endAt + 2 * MS.HOUR);
    const ratedAt = ts(c.endAt + 26 * MS.HOUR);
    for (const row of rows) {
      const h = rated.get(row.userId);
      const e = row.entry;
      this.sinks.result.row([
        c.id,
        row.userId,
        this.pop.handle[e.m],
        row.placement,
        row.finalScore,
        h !== undefined,
        e.passed,
        row.validSubmission,
        h?.oldRating ?? null,
        h?.newRating ?? null,
        h ? ratingOrder : null,
        resultAt,
        h ? ratedAt : resultAt,
      ]);
      this.result.participated[e.m] = 1;
    }
    for (const [kindName, injector] of this.rowInjectors) this.result.anomalies[kindName] = injector.count;

    if (completed) {
      this.writeWinners(c, entries);
      if (legacyKnows) this.accumulate(c, entries, rated);
    }
  }

  private submissionTime(c: PlannedChallenge, m: number): number {
    const earliest = Math.max(c.startAt, this.pop.joinAt[m]! + MS.HOUR);
    return Math.floor(earliest + this.rng.next() * Math.max(0, c.endAt - MS.MINUTE - earliest));
  }

  /** Review-scored challenges (Development, Design, QA), tasks and SRMs: one score per member. */
  private scored(c: PlannedChallenge, members: number[], track: number, completed: boolean): Entry[] {
    const rng = this.rng;
    const model = c.kind.score;
    const entries = members.map((m): Entry => {
      const perf = this.pop.skill[m * TRACKS_N + track]! + 0.9 * rng.normal();
      let score: number;
      if (model === 'task') score = 100;
      else if (model === 'srm') score = round2(Math.max(1.5, 300 + 320 * perf));
      // review scores: a smooth S-curve over (25, 100), 75 to pass (about 60% do); no clamping, so few ties
      else score = round2(25 + 75 / (1 + Math.exp(-(0.9 * perf + 1))));
      const passed = completed && (model !== 'review' || score >= 75);
      const submissions = c.kind.track === 'DESIGN' && rng.chance(0.25) ? 2 : 1;
      return {
        m,
        userId: String(this.pop.userId[m]),
        score,
        passed,
        placement: 0,
        submittedAt: this.submissionTime(c, m),
        submissions,
        eligible: true,
      };
    });
    const placements = competitionPlacements(entries.map((e) => e.score));
    entries.forEach((e, i) => (e.placement = placements[i]!));
    return entries;
  }

  /**
   * Marathon Matches: 1–6 submissions per member, each better than the last, each with 1–3 review summations
   * (provisional, then final). Submission-level anomalies (one at most per submission): DELETED status, no final
   * summation, an earlier final summation superseded by a later one, a final summation scored 0 with the score
   * only on submission.finalScore. Standings: members with a submission the rating rules count, by their best
   * such score, then the others.
   */
  private marathon(
    c: PlannedChallenge,
    members: number[],
    track: number,
    completed: boolean,
  ): { entries: Entry[]; submissions: MmSubmission[]; summations: ReviewSummationRow[] } {
    const rng = this.rng;
    const scale = rng.pick([1, 100, 1000, 1_000_000]);
    const subs: MmSubmission[] = [];
    const summations: ReviewSummationRow[] = [];
    const entries = members.map((m): Entry => {
      const perf = this.pop.skill[m * TRACKS_N + track]! + 0.7 * rng.normal();
      const q = 0.5 + 0.45 * Math.tanh(perf / 1.5);
      const best = Math.max(round4(scale * q), round4(scale * 0.01));
      const n = Math.min(6, 1 + Math.floor(-Math.log(1 - rng.next()) / 0.8));
      const times = Array.from({ length: n }, () => this.submissionTime(c, m)).sort((a, b) => a - b);
      const scores = Array.from({ length: n - 1 }, () => round4(best * rng.uniform(0.6, 0.98))).sort((a, b) => a - b);
      scores.push(best);
      let effective: number | null = null;
      for (let i = 0; i < n; i++) {
        const score = scores[i]!;
        const anomaly = pickExclusive(this.submissionInjectors);
        const sub: MmSubmission = {
          m,
          score,
          anomaly,
          row: {
            id: rng.uuid(),
            challengeId: c.id,
            memberId: String(this.pop.userId[m]),
            status: anomaly === 'deleted' ? 'DELETED' : 'COMPLETED_WITHOUT_WIN',
            finalScore: anomaly === 'zeroScore' || rng.chance(0.85) ? score : null,
            submittedDate: new Date(times[i]!),
          },
        };
        subs.push(sub);
        this.addSummations(c, sub, summations, q >= 0.15);
        if (anomaly !== 'deleted' && anomaly !== 'noFinal') effective = Math.max(effective ?? 0, score);
      }
      return {
        m,
        userId: String(this.pop.userId[m]),
        score: effective ?? best,
        passed: completed && q >= 0.15,
        placement: 0,
        submittedAt: times[n - 1]!,
        submissions: n,
        eligible: effective !== null,
      };
    });
    // standings: eligible members first by score, then the rest by score
    const eligible = entries.filter((e) => e.eligible);
    const others = entries.filter((e) => !e.eligible);
    competitionPlacements(eligible.map((e) => e.score)).forEach((p, i) => (eligible[i]!.placement = p));
    competitionPlacements(others.map((e) => e.score)).forEach((p, i) => (others[i]!.placement = eligible.length + p));
    const byMember = new Map(entries.map((e) => [e.m, e]));
    const lastEligible = new Map<number, MmSubmission>();
    for (const s of subs) if (s.anomaly !== 'deleted' && s.anomaly !== 'noFinal') lastEligible.set(s.m, s);
    for (const s of subs) {
      const e = byMember.get(s.m)!;
      if (s.anomaly !== 'deleted' && completed) {
        if (!e.passed) s.row.status = 'FAILED_REVIEW';
        else if (lastEligible.get(s.m) === s && e.placement <= c.kind.prizes) s.row.status = 'ACTIVE';
      }
      this.sinks.submission.row([
        s.row.id,
        c.id,
        s.row.memberId,
        s.row.status,
        'CONTEST_SUBMISSION',
        s.row.finalScore,
        ts(s.row.submittedDate!.getTime()),
      ]);
    }
    const a = this.result.anomalies;
    const [deleted, noFinal, superseded, zero] = this.submissionInjectors;
    a.submissionDeleted = deleted![1].count;
    a.summationNoFinal = noFinal![1].count;
    a.summationSupersededFinal = superseded![1].count;
    a.summationZeroScore = zero![1].count;
    return { entries, submissions: subs, summations };
  }

  private addSummations(c: PlannedChallenge, s: MmSubmission, out: ReviewSummationRow[], passing: boolean): void {
    const rng = this.rng;
    const submitted = s.row.submittedDate!.getTime();
    const add = (aggregateScore: number, isFinal: boolean | null, createdAt: number) => {
      const row: ReviewSummationRow = { id: rng.uuid(), submissionId: s.row.id, aggregateScore, isFinal, createdAt: new Date(createdAt) };
      out.push(row);
      const at = ts(createdAt);
      this.sinks.summation.row([row.id, row.submissionId, aggregateScore, passing, isFinal, at, at]);
    };
    const provisional = () => add(round4(s.score * rng.uniform(0.85, 1.1)), false, submitted + rng.uniform(5, 60) * MS.MINUTE);
    if (s.anomaly === 'noFinal') {
      provisional();
      if (rng.chance(0.3)) add(round4(s.score * rng.uniform(0.85, 1.1)), false, submitted + rng.uniform(61, 120) * MS.MINUTE);
      return;
    }
    if (rng.chance(0.7)) provisional();
    if (s.anomaly === 'superseded') {
      add(round4(s.score * rng.uniform(1.02, 1.15)), true, c.endAt + rng.uniform(1, 12) * MS.HOUR);
      add(s.score, true, c.endAt + rng.uniform(13, 72) * MS.HOUR);
      return;
    }
    add(s.anomaly === 'zeroScore' ? 0 : s.score, rng.chance(0.9) ? true : null, c.endAt + rng.uniform(1, 48) * MS.HOUR);
  }

  private writeChallenge(c: PlannedChallenge, status: string): void {
    const rng = this.rng;
    const created = c.startAt - rng.uniform(1, 10) * MS.DAY;
    const updated = status === 'ACTIVE' ? c.startAt : c.endAt + rng.uniform(1, 72) * MS.HOUR;
    this.sinks.challenge.row([c.id, c.name, c.typeId, c.trackId, status, c.legacyId, ts(c.startAt), ts(c.endAt), ts(created), ts(updated)]);
    if (c.ratingMetadata) {
      const value = c.ratingMetadata === 'unrated' ? String(!c.rated) : String(c.rated);
      this.sinks.metadata.row([++this.ids.metadata, c.id, c.ratingMetadata, value]);
    }
    if (c.hasSubmissionLimit) {
      this.sinks.metadata.row([
        ++this.ids.metadata,
        c.id,
        'submissionLimit',
        JSON.stringify({ unlimited: 'false', limit: 'true', count: String(rng.int(1, 5)) }),
      ]);
    }
  }

  private writeWinners(c: PlannedChallenge, entries: Entry[]): void {
    const ordered = [...entries].sort((a, b) => a.placement - b.placement || a.m - b.m);
    for (const e of ordered) {
      if (!e.passed || !e.eligible) continue;
      const type = e.placement <= c.kind.prizes ? 'PLACEMENT' : c.kind.score === 'srm' ? null : 'PASSED_REVIEW';
      if (type) this.sinks.winner.row([++this.ids.winner, c.id, this.pop.userId[e.m], this.pop.handle[e.m], e.placement, type]);
    }
  }

  private writeHistory(c: PlannedChallenge, stream: Stream, entries: Entry[], rated: Map<string, HistoryRow>): void {
    let alias = false;
    if (stream === 'MM' && this.aliasInjector.hit()) alias = true;
    for (const e of entries) {
      const h = rated.get(e.userId);
      if (!h) continue;
      if (!this.everRated[e.m]) {
        this.everRated[e.m] = 1;
        if (this.noHistoryInjector.hit()) this.noHistory[e.m] = 1;
      }
      if (this.noHistory[e.m]) continue;
      let hs = this.result.historyStatsId[e.m]!;
      if (hs === 0) hs = this.result.historyStatsId[e.m] = ++this.ids.historyStats;
      if (stream === 'DEV') {
        const sub = c.kind.type === 'CODE' ? 'CODE' : 'DEVELOPMENT';
        this.sinks.devHistory.row([++this.ids.devHistory, hs, c.legacyId, c.name, ts(c.endAt), h.newRating, sub, DEVELOP_SUBTRACKS[sub]]);
      } else {
        const sub = stream === 'MM' ? 'MARATHON_MATCH' : 'SRM';
        // the aliased rounds: legacy import named them "MM <round>" under the old round id, not the challenge's legacyId
        const [id, name] = alias ? [10_000 + c.round!, `MM ${c.round}`] : [c.legacyId, c.name];
        if (alias) this.result.anomalies.legacyMarathonHistoryAlias++;
        this.sinks.dsHistory.row([
          ++this.ids.dsHistory,
          hs,
          id,
          name,
          ts(c.endAt),
          h.newRating,
          h.placement,
          h.percentile,
          sub,
          DATA_SCIENCE_SUBTRACKS[sub],
        ]);
      }
    }
    this.result.anomalies.statsWithoutHistory = this.noHistoryInjector.count;
  }

  private agg(m: number, code: number): ItemAgg {
    const key = m * ITEM_SLOTS + code;
    let a = this.result.aggs.get(key);
    if (!a) {
      a = {
        challenges: 0,
        wins: 0,
        submissions: 0,
        passedScreening: 0,
        placementSum: 0,
        placementCount: 0,
        mostRecentSubmission: 0,
        mostRecentEventDate: 0,
        mostRecentEventName: '',
        rating: null,
        volatility: null,
        maxRating: null,
        minRating: null,
        competitions: 0,
        rankSum: 0,
        bestRank: null,
        topFive: 0,
        topTen: 0,
      };
      this.result.aggs.set(key, a);
    }
    return a;
  }

  private accumulate(c: PlannedChallenge, entries: Entry[], rated: Map<string, HistoryRow>): void {
    if (!c.item) return;
    const code = itemCode(c.item);
    for (const e of entries) {
      const a = this.agg(e.m, code);
      a.challenges++;
      if (e.placement === 1 && e.passed && e.eligible) a.wins++;
      a.submissions += e.submissions;
      if (e.passed) {
        a.passedScreening++;
        a.placementSum += e.placement;
        a.placementCount++;
      }
      a.mostRecentSubmission = Math.max(a.mostRecentSubmission, e.submittedAt);
      a.mostRecentEventDate = c.endAt;
      a.mostRecentEventName = c.name;
      const h = rated.get(e.userId);
      if (!h) continue;
      a.rating = h.newRating;
      a.volatility = h.newVolatility;
      a.maxRating = Math.max(a.maxRating ?? h.newRating, h.newRating);
      a.minRating = Math.min(a.minRating ?? h.newRating, h.newRating);
      a.competitions++;
      a.rankSum += h.placement;
      a.bestRank = Math.min(a.bestRank ?? h.placement, h.placement);
      if (h.placement <= 5) a.topFive++;
      if (h.placement <= 10) a.topTen++;
    }
  }
}
