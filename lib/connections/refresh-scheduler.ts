/**
 * The refresh scheduler: one cheap run a minute (EventBridge on AWS, a timer locally) that reads what
 * is due from the schedule index, shard by shard, and sends those connections to their providers'
 * refresh queues, most overdue first. It refreshes nothing itself; the refresh workers do, each within
 * its share of the provider's budget (refresh-worker.ts).
 *
 * Per provider and run it sends at most one period of the provider's rate budget, less what still
 * waits in its queue (`schedulerSendLimit`): the queue never holds much more than the workers can do
 * before the next run, so what was sent is refreshed before the next run reads the index again and is
 * not sent twice. What it holds back stays due in the index, for the next run. A provider whose
 * circuit is open gets nothing but one job when a probe is due (so an outage is noticed to end even
 * when no app asks for a token).
 *
 * Two indexes hold the schedule. Entries by due time (`refresh-due`) stay due until a write moves
 * them, so a run reads everything due by its horizon. Entries on a cycle (`refresh-cycle`: a period
 * and a phase, docs/design.md "A schedule entry that does not move") come round every period, and
 * a run reads the turns that came round since the last run's: the scheduler's marks (one item, read
 * and written once a run) say how far each partition of the cycle index was read, so a run cut short
 * reads on where each partition stopped, and how far turns were sent per provider where something
 * was held back, so a turn held back or refused is sent by a later run, as an entry by due time would be.
 */
import { isBrokerError } from '../errors';
import { logger } from '../logger';
import type { ProviderHealth, UnreadableConnection } from '../model';
import { BROKER_METRICS, type DueConnection, type RefreshJob, type RefreshQueue, type ScheduleMarks, type TurnMark } from '../ports';
import { refreshPolicyOf, servesProvider, type BrokerContext } from './context';
import { CYCLE_PERIODS_MIN, latestTurn, phaseOf, providerGate, refreshDueBy, schedulerSendLimit } from './refresh-policy';
import { cycleKeys } from './transitions';

export interface SchedulerOptions {
  /** Milliseconds left in this invocation (Lambda `context.getRemainingTimeInMillis`): reading stops with time to send what was read. */
  remainingTimeMs?: () => number;
  /** Most due connections read from the index in one run. @default DEFAULT_SCHEDULER_READ_MAX */
  readMax?: number;
}

/** A run reads at most this many due connections (the rest wait for the next run; the most overdue are read first in each shard). */
export const DEFAULT_SCHEDULER_READ_MAX = 200_000;
/** Schedule-index items per page. */
const DUE_PAGE = 1_000;
/** Time kept back for sending what was read. */
const SEND_RESERVE_MS = 10_000;

export interface SchedulerSummary {
  /** Connections found due by this run's horizon. */
  due: number;
  /** Jobs sent, by provider. */
  sent: Record<string, number>;
  /** Due but not sent this run (the provider's per-run limit, an open circuit, a disabled provider, or the queue refused them), by provider. */
  held_back: Record<string, number>;
  /** Providers whose circuit was open (at most one probe job each). */
  circuit_open: string[];
  /** Of `due`, turns of entries on a cycle. */
  cycle_turns: number;
  /** Due index items that do not read as connections: skipped and logged, never stopping the run. */
  unreadable: number;
  duration_ms: number;
}

/** A due connection as this run found it: `refreshDueAt` is the entry's due time, or its turn when it is on a cycle. */
interface Candidate extends DueConnection {
  onCycle: boolean;
}

/** One scheduler run: what is due goes to the refresh queues. */
export async function scheduleRefreshes(ctx: BrokerContext, queue: RefreshQueue, options: SchedulerOptions = {}): Promise<SchedulerSummary> {
  const started = ctx.clock.now();
  const dueBy = refreshDueBy({ now: started, config: ctx.config });
  const timeLeft = options.remainingTimeMs ?? (() => Number.POSITIVE_INFINITY);
  const mayRead = () => timeLeft() > SEND_RESERVE_MS;
  const readMax = options.readMax ?? DEFAULT_SCHEDULER_READ_MAX;
  const marks = await ctx.store.getScheduleMarks();
  const previous = marks?.through ?? Number.NEGATIVE_INFINITY;
  // How far earlier runs read each partition of the cycle index (marks written before the marks per
  // partition: every one to `through`).
  const readBefore = (partition: string): number => Math.max(previous, marks?.partitions?.[partition] ?? previous);
  // Up to its mark (in turn order) a held provider's turns were sent (past it, up to each partition's
  // mark, some may not have been); every other provider's turn read was sent.
  const heldMarks = new Map(Object.entries(marks?.held ?? {}));
  const heldBack = new Set(heldMarks.keys());
  // Where the catch-up starts in every partition: just before the earliest held mark.
  const heldFrom = Math.min(...[...heldMarks.values()].map((mark) => mark.at)) - 1;
  const [byDue, forward, catchUp] = await Promise.all([
    readDue(ctx, dueBy, readMax, mayRead),
    // Each partition's turns since it was last read (without marks, the whole last period), which alone
    // move the partitions' marks: a partition read whole is not read again when another is cut short ...
    readTurns(ctx, { after: readBefore, upTo: () => dueBy, max: readMax, mayRead }),
    // ... and, apart with a budget of their own, the turns providers held back before it: one provider
    // held back long must not hold back the reading of the others'.
    heldBack.size > 0
      ? readTurns(ctx, { after: () => heldFrom, upTo: readBefore, max: readMax, mayRead, providers: heldBack })
      : { due: [], unreadable: [], stoppedAt: new Map<string, number>() },
  ]);
  // What the forward read found no run read before, so none sent; what the catch-up found, only past
  // its provider's mark (a held provider's mark may lie past where another partition stopped).
  const caughtUp = catchUp.due.filter((turn) => {
    const mark = heldMarks.get(turn.provider); // the catch-up reads held providers only
    return mark !== undefined && inTurnOrder(mark, { at: turn.refreshDueAt, id: turn.id }) < 0;
  });
  let turns = earliestPerConnection([...caughtUp, ...forward.due]);
  // A turn before an entry was placed is no turn of it (a connection installed at x is first due near
  // x + period, and its phase's turn before that lies before x). Runs in step with time never see
  // one: every partition's mark passed x before the entry existed. A run that reads further back does
  // — without marks (a new table, the item lost: every turn of the last period), behind on its reading
  // (a run cut short, a scheduler stopped for a while), or catching up a held provider — and most of
  // what it reads there may be such turns. Their records' due times say which are due, so those runs
  // do not fill the queues with jobs that are not (half a read unit per connection, in those runs only).
  const behind = previous < dueBy - 2 * ctx.config.refreshPolicy.schedulerIntervalMs;
  if (behind || heldBack.size > 0) turns = await dueNow(ctx, turns, dueBy);
  // How far each partition is read now (never back: a partition cut short stopped past where it began).
  const readTo = new Map(CYCLE_PARTITIONS.map(({ key }) => [key, Math.max(readBefore(key), forward.stoppedAt.get(key) ?? dueBy)]));
  // Where the catch-up stopped short, the held providers' turns after that are not read yet: their marks stay no further.
  const catchUpStop: TurnMark = catchUp.stoppedAt.size > 0 ? { at: Math.min(...catchUp.stoppedAt.values()), id: LAST_ID } : NOTHING_HELD;
  const due: Candidate[] = [...byDue.due.map((entry) => ({ ...entry, onCycle: false })), ...turns];
  const unreadable = [...byDue.unreadable, ...forward.unreadable, ...catchUp.unreadable];
  const summary: SchedulerSummary = { due: due.length, cycle_turns: turns.length, sent: {}, held_back: {}, circuit_open: [], unreadable: unreadable.length, duration_ms: 0 };
  if (unreadable.length > 0) {
    // Skipped, not fatal: one bad item must not stop every other connection's refresh.
    logger.error('refresh scheduler: due items that do not read as connections were skipped', { unreadable: unreadable.map((item) => item.id) });
    ctx.metrics.record({ name: BROKER_METRICS.unreadableDueItems, value: unreadable.length });
  }

  const byProvider = new Map<string, Candidate[]>();
  for (const connection of due) {
    const list = byProvider.get(connection.provider) ?? [];
    list.push(connection);
    byProvider.set(connection.provider, list);
  }
  const held: Record<string, TurnMark> = {};
  await Promise.all(
    [...byProvider].map(async ([provider, connections]) => {
      // Most overdue first: a run that may not send everything spends its limit where expiry is nearest.
      connections.sort((a, b) => inTurnOrder({ at: a.refreshDueAt, id: a.id }, { at: b.refreshDueAt, id: b.id }));
      let sent = 0;
      let atStake = connections.length; // until the limit is known, every due connection of this provider
      let served = true;
      try {
        served = servesProvider(ctx, provider);
        const limit = served ? await sendLimit(ctx, queue, provider, summary) : 0;
        const jobs = connections.slice(0, limit).map((c): RefreshJob => ({ connectionId: c.id, provider, dueAt: c.refreshDueAt }));
        atStake = jobs.length;
        if (jobs.length > 0) await queue.send(jobs);
        sent = jobs.length;
      } catch (err) {
        // One provider's queue failing (refused jobs, a queue missing from the configuration, an SQS
        // error on its depth) must not stop the others' jobs nor lose this run's summary. Some may have
        // been sent: the ones not sent stay due, and the next run sends them.
        const error = isBrokerError(err) ? err.code : err instanceof Error ? err.name : typeof err;
        logger.error('refresh scheduler: the queue refused jobs', { provider, jobs: atStake, error });
        ctx.metrics.record({ name: BROKER_METRICS.jobsRefused, value: atStake, provider });
      }
      if (sent > 0) summary.sent[provider] = sent;
      if (connections.length > sent) summary.held_back[provider] = connections.length - sent;
      // The provider's new mark when some of its turns were not sent: its last turn sent (what was sent
      // is a prefix in turn order, and every turn of it before that was read); none sent, just before its
      // first turn not sent — not where its old mark was, even for a provider held till now: this run's
      // forward read may have moved a partition's mark past turns that lie before that old mark, and a
      // mark left there would have the next catch-up drop them (a period late: a 30-minute token
      // expired; cycle-turns.test.ts › "a held provider ... sends none for a run"). A provider this
      // deployment does not serve holds nothing (its entries come round again next period).
      if (served) {
        const lastSent = connections.slice(0, sent).findLast((c) => c.onCycle);
        const firstHeld = connections.slice(sent).find((c) => c.onCycle);
        const mark = !firstHeld ? NOTHING_HELD : lastSent ? { at: lastSent.refreshDueAt, id: lastSent.id } : { at: firstHeld.refreshDueAt - 1, id: LAST_ID };
        held[provider] = heldBack.has(provider) ? earlierOf(mark, catchUpStop) : mark;
      }
    }),
  );
  // A held provider with no turn in what this run read holds no further than where its catch-up stopped.
  for (const provider of heldBack) {
    if (!byProvider.has(provider) && servesProvider(ctx, provider)) held[provider] = catchUpStop;
  }
  await writeMarks(ctx, marks, readTo, held);
  summary.duration_ms = ctx.clock.now() - started;
  logger.info('refresh scheduler finished', { ...summary });
  return summary;
}

/** Every partition of the cycle index: each period's shards. */
const CYCLE_PARTITIONS = CYCLE_PERIODS_MIN.flatMap((minutes) => cycleKeys(minutes * 60_000).map((key) => ({ key, periodMs: minutes * 60_000 })));

/** After every id: a mark at a time covers every turn at that time. */
const LAST_ID = '\u{10FFFF}';

/** The mark of a provider none of whose turns read were held back. */
const NOTHING_HELD: TurnMark = { at: Number.POSITIVE_INFINITY, id: LAST_ID };

function earlierOf(a: TurnMark, b: TurnMark): TurnMark {
  return inTurnOrder(a, b) <= 0 ? a : b;
}

/** Negative when `a` comes before `b` in the order turns are sent in (time, then connection id). */
function inTurnOrder(a: TurnMark, b: TurnMark): number {
  return a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The turns whose connections are due by `dueBy`, by their records' due times. */
async function dueNow(ctx: BrokerContext, turns: Candidate[], dueBy: number): Promise<Candidate[]> {
  const dueTimes = new Map<string, number>();
  for (let start = 0; start < turns.length; start += DUE_PAGE) {
    for (const [id, at] of await ctx.store.dueTimes(turns.slice(start, start + DUE_PAGE).map((turn) => turn.id))) dueTimes.set(id, at);
  }
  return turns.filter((turn) => (dueTimes.get(turn.id) ?? Number.POSITIVE_INFINITY) <= dueBy);
}

/**
 * Stores how far this run read each partition and sent the cycle's turns. A lost race (another run
 * wrote first) keeps the other run's marks: each run read the same marks and sent from them, so
 * either run's are right.
 */
async function writeMarks(ctx: BrokerContext, previous: ScheduleMarks | undefined, readTo: ReadonlyMap<string, number>, marks: Record<string, TurnMark>): Promise<void> {
  // `through`, every partition's mark at least, is what a marks item written before the marks per
  // partition held (and what a scheduler of that time would read from); only the partitions read
  // further are named.
  const through = Math.min(...readTo.values());
  const partitions = Object.fromEntries([...readTo].filter(([, at]) => at > through));
  // A provider holding nothing back needs no mark.
  const held = Object.fromEntries(Object.entries(marks).filter(([, mark]) => mark.at !== NOTHING_HELD.at));
  const written = await ctx.store.putScheduleMarks({ through, ...(Object.keys(partitions).length > 0 ? { partitions } : {}), held, version: previous?.version ?? 0 });
  if (!written) logger.warn('refresh scheduler: another run stored its marks first; keeping them');
}

/** How many of `provider`'s due connections this run may send (0 for a provider this deployment does not serve). */
async function sendLimit(ctx: BrokerContext, queue: RefreshQueue, provider: string, summary: SchedulerSummary): Promise<number> {
  const gate = providerGate({ health: await health(ctx, provider), now: ctx.clock.now(), force: false, awaitedProbe: false });
  if (gate.action !== 'call') {
    summary.circuit_open.push(provider);
    return gate.action === 'probe' ? 1 : 0;
  }
  const policy = refreshPolicyOf(ctx, provider);
  return schedulerSendLimit({ budget: policy.budget, queued: await queue.depth(provider), config: ctx.config });
}

/** The provider's health, as the workers will see it; unreadable health is treated as healthy (health is advice). */
async function health(ctx: BrokerContext, provider: string): Promise<ProviderHealth | undefined> {
  try {
    return await ctx.health.getHealth(provider);
  } catch {
    return undefined;
  }
}

/** Every shard's due connections, earliest first per shard, up to `max` in all; and the due items that do not read as connections. */
async function readDue(ctx: BrokerContext, dueBy: number, max: number, mayRead: () => boolean): Promise<{ due: DueConnection[]; unreadable: UnreadableConnection[] }> {
  const perShardMax = Math.ceil(max / ctx.config.shards);
  const unreadable: UnreadableConnection[] = [];
  const perShard = await Promise.all(
    Array.from({ length: ctx.config.shards }, async (_, shard) => {
      const found: DueConnection[] = [];
      let cursor: string | undefined;
      do {
        const page = await ctx.store.listDue(shard, dueBy, { limit: DUE_PAGE, cursor });
        // Entries of the index alone (id, provider, due time): the scheduler reads no record.
        found.push(...page.items);
        unreadable.push(...(page.unreadable ?? []));
        cursor = page.cursor;
      } while (cursor && found.length < perShardMax && mayRead());
      return found;
    }),
  );
  return { due: perShard.flat(), unreadable };
}

/**
 * Every cycle's turns in each partition's window (`after`, `upTo`], each entry at its latest turn by
 * `upTo`, in turn order per partition (of `providers` only, when given); and, for each partition whose
 * reading stopped at `max` entries or for lack of time, how far its turns were read whole (a later run
 * reads on from there). The rest were read to `upTo`.
 */
async function readTurns(
  ctx: BrokerContext,
  window: { after: (partition: string) => number; upTo: (partition: string) => number; max: number; mayRead: () => boolean; providers?: ReadonlySet<string> },
): Promise<{ due: Candidate[]; unreadable: UnreadableConnection[]; stoppedAt: Map<string, number> }> {
  const { max, mayRead, providers } = window;
  const due: Candidate[] = [];
  const unreadable: UnreadableConnection[] = [];
  const stoppedAt = new Map<string, number>();
  let read = 0;
  await Promise.all(
    CYCLE_PARTITIONS.map(async ({ key, periodMs }) => {
      const upTo = window.upTo(key);
      for (const [from, to] of turnRanges(window.after(key), upTo, periodMs)) {
        let cursor: string | undefined;
        do {
          const page = await ctx.store.listCycle(key, from, to, { limit: DUE_PAGE, cursor });
          read += page.items.length;
          unreadable.push(...(page.unreadable ?? []));
          cursor = page.cursor;
          const found = page.items.map((entry) => ({ entry, turn: latestTurn({ periodMs, phaseMs: entry.phase, by: upTo }) }));
          const firstTurn = found[0]?.turn;
          const lastTurn = found.at(-1)?.turn;
          // Stopped with more to read: the last turn read may have more entries on the next page, so
          // from it on nothing counts as read (the run that reads on sends its entries, once). A page
          // all of one turn is read past, or its partition would never move.
          const stop = cursor !== undefined && (read >= max || !mayRead()) && firstTurn !== undefined && lastTurn !== undefined && firstTurn < lastTurn;
          for (const { entry, turn } of found) {
            if (stop && turn === lastTurn) continue;
            if (!providers || providers.has(entry.provider)) due.push({ id: entry.id, provider: entry.provider, refreshDueAt: turn, onCycle: true });
          }
          if (stop) {
            stoppedAt.set(key, lastTurn - 1);
            return;
          }
        } while (cursor);
      }
    }),
  );
  return { due, unreadable, stoppedAt };
}

/** One turn per connection, its earliest (the catch-up and the forward read may both find an entry). */
function earliestPerConnection(turns: Candidate[]): Candidate[] {
  const earliest = new Map<string, Candidate>();
  for (const turn of turns) {
    const seen = earliest.get(turn.id);
    if (!seen || turn.refreshDueAt < seen.refreshDueAt) earliest.set(turn.id, turn);
  }
  return [...earliest.values()];
}

/** The phase ranges of a cycle of `periodMs` whose turns fall in (`after`, `dueBy`], in turn order (at most one whole period). */
export function turnRanges(after: number, dueBy: number, periodMs: number): Array<[number, number]> {
  const start = Math.max(after, dueBy - periodMs);
  if (start >= dueBy) return [];
  const from = phaseOf(start + 1, periodMs);
  const to = phaseOf(dueBy, periodMs);
  return from <= to ? [[from, to]] : [[from, periodMs - 1], [0, to]];
}
