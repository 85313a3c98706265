// One serviceLogs subscription: an async iterator of event batches that follows the
// service from container to container.
//
// History and live lines without gaps or duplicates. Each container has one shared
// follower that asks Docker only for new lines. A subscriber first attaches to it (lines
// it delivers are held back), waits until Docker has the follow request open, and only
// then fetches its history (tail/since) with a non-follow request (or shares an identical
// one issued after it attached, see hub.ts). Every line is
// therefore in the history, in the live stream, or in both: the held-back live lines
// (and the first live lines after them) are checked against the end of the history by
// key (timestamp, stream, text) and dropped when the history already had them. Live
// lines older than the history window (possible when `tail` cut it) are dropped too.
//
// Following redeploys. The service's state watch (hub.ts) re-reads the service after
// every state transition. When its container id changes, the subscription emits
// CONTAINER_CHANGED and attaches to the new container with its full history (bounded by
// MAX_TAIL): the new container only holds lines written since it was created, so nothing
// is repeated and nothing written before the attach is missed. When the same container
// restarts (Start, or Docker restarting it), it attaches again with `since` = the last
// line already delivered (or, if none was, the end of the previous run), so the lines written
// while it was detached are not lost and none is repeated.
//
// Residual risk, accepted: Docker stamps stdout and stderr lines in two goroutines; two
// lines stamped microseconds apart can reach the log file out of timestamp order. Right
// at a history/live boundary such a line could be dropped (or repeated) once.
//
// Back-pressure. The subscriber's queue holds at most `queueLimit` live events (plus
// the history it asked for). When a client reads slower than the container writes, the
// oldest queued lines are dropped (whole batches, so what is left is still shared, see
// Delivery) and the next message is one DROPPED event saying how many. The server never
// buffers more than that per subscription; the transports add one in-flight message at
// most (graphql-ws waits for each send, SSE waits for the socket to drain). The iterator
// has a single consumer (the transport).
//
// Delivery. A follower batch still whole at the head of the queue is delivered as that
// same array (see queue.ts), so all subscribers that keep up deliver identical batches,
// executed once by the GraphQL layer.
import type { ContainerFollower, FollowerSink } from './follower.ts';
import { normalizeStamp, stampOf } from './parse.ts';
import { EventQueue } from './queue.ts';
import type { LogEvent, LogEventKind } from './types.ts';

/** The most history lines one request may ask for, and what a container switch or restart fetches. */
export const MAX_TAIL = 10_000;
/** History lines compared by key against the live stream; the rest are older than any live line. */
const OVERLAP_KEYS = 256;
/** After a live line this much newer than the history's last line, the overlap is over. */
const OVERLAP_WINDOW_MS = 2_000;

export interface ServiceSnapshot {
  exists: boolean;
  endpoint: string | null;
  containerId: string | null;
  /** the container answered inspect and is running */
  running: boolean;
  startedAt: string | null;
  /** when the container's last run ended (Docker's zero time if it never did) */
  finishedAt: string | null;
  /** the service has a container id but the engine says there is no such container */
  missing: boolean;
}

export type HistoryChunks = readonly (readonly LogEvent[])[];

/** The last `count` lines of chunked history, oldest first. */
function lastLines(chunks: HistoryChunks, count: number): LogEvent[] {
  const out: LogEvent[] = [];
  for (let c = chunks.length - 1; c >= 0 && out.length < count; c--) {
    const chunk = chunks[c];
    for (let i = chunk.length - 1; i >= 0 && out.length < count; i--) out.push(chunk[i]);
  }
  return out.reverse();
}

export interface HistoryRequest {
  tail: number;
  /** fixed-form timestamp: only lines at or after it */
  since: string | null;
}

/** What a subscription needs from the hub. */
export interface StreamHost {
  readonly queueLimit: number;
  readonly batchLimit: number;
  follower(endpoint: string, containerId: string): ContainerFollower;
  /** A number that grows with every call: orders attachments and history requests. */
  tick(): number;
  /**
   * Past lines of the container in chunks of at most `batchLimit`, from a request issued
   * after `after` (a tick): one made for another subscriber may be shared then. The
   * chunks are shared: never mutate them.
   */
  history(endpoint: string, containerId: string, tty: boolean, request: HistoryRequest, after: number): Promise<HistoryChunks>;
  dropped(count: number): void;
  closed(stream: ServiceLogStream): void;
  warn(err: unknown, message: string, context: Record<string, unknown>): void;
}

export interface StreamWatch {
  poke(): void;
  pokeLater(ms: number): void;
  leave(stream: ServiceLogStream): void;
}

export interface LogRequest {
  /** how many past lines to start with */
  tail: number;
  /** fixed-form timestamp: only lines at or after it */
  since: string | null;
}

const keyOf = (e: LogEvent) => `${e.timestampNanos}|${e.stream}|${e.text}`;

function marker(kind: LogEventKind, text: string, containerId: string | null, dropped: number | null = null): LogEvent {
  const at = new Date();
  return { kind, stream: null, timestamp: at, timestampNanos: stampOf(at), text, containerId, dropped };
}

/**
 * Decides which live lines are new, given the history just delivered. Active only while
 * the live stream may still repeat history lines.
 */
class Overlap {
  active = true;
  private readonly keys = new Set<string>();
  private readonly lastKey: string | null;
  /** history's last timestamp */
  private readonly last: string | null;
  /** history lines at or after this are in `keys`; live lines before it are old */
  private readonly keyedFrom: string | null;
  private readonly until: string | null;

  constructor(
    history: readonly LogEvent[],
    private readonly since: string | null,
    private readonly floor: { ts: string; key: string } | null,
  ) {
    const keyed = history.slice(-OVERLAP_KEYS);
    for (const line of keyed) this.keys.add(keyOf(line));
    this.lastKey = keyed.length ? keyOf(keyed[keyed.length - 1]) : null;
    this.last = keyed.length ? keyed[keyed.length - 1].timestampNanos : null;
    this.keyedFrom = keyed.length ? keyed[0].timestampNanos : null;
    const newest = [this.last, since, floor?.ts ?? null].filter((t): t is string => t !== null).sort().pop() ?? null;
    this.until = newest ? stampOf(new Date(Date.parse(newest) + OVERLAP_WINDOW_MS)) : null;
    if (!newest) this.active = false;
  }

  /** True when the live line is new; ends the overlap once past it. */
  admit(line: LogEvent): boolean {
    const ts = line.timestampNanos;
    if (this.until !== null && ts > this.until) {
      this.active = false;
      return true;
    }
    if (this.since !== null && ts < this.since) return false;
    if (this.floor !== null && (ts < this.floor.ts || (ts === this.floor.ts && keyOf(line) === this.floor.key))) return false;
    if (this.last === null) return true;
    // Older than every keyed history line: either repeated or before the requested window.
    // (Checked first: a follower far behind the log file sends many of these.)
    if (ts < this.keyedFrom!) return false;
    const key = keyOf(line);
    if (this.keys.has(key)) {
      // Docker sends lines in the order it logged them: after the history's last line, all are new.
      if (key === this.lastKey) this.active = false;
      this.keys.delete(key);
      return false;
    }
    return true;
  }
}

/** One subscription's link to one container's follower. */
class Attachment implements FollowerSink {
  phase: 'pending' | 'live' | 'ended' | 'detached' = 'pending';
  private held = new EventQueue();
  private heldDropped = 0;
  private endReason: string | null = null;
  overlap: Overlap | null = null;

  constructor(
    private readonly owner: ServiceLogStream,
    readonly follower: ContainerFollower,
    readonly containerId: string,
    private readonly holdLimit: number,
  ) {}

  lines(batch: readonly LogEvent[]): void {
    if (this.phase === 'live') this.owner.accept(this, batch);
    else if (this.phase === 'pending') {
      this.held.push(batch);
      if (this.held.size > this.holdLimit) {
        const excess = this.held.size - this.holdLimit;
        this.held.drop(excess);
        this.heldDropped += excess;
      }
    }
  }

  ended(reason: string): void {
    if (this.phase === 'live') {
      this.phase = 'ended';
      this.owner.attachmentEnded(this, reason);
    } else if (this.phase === 'pending') this.endReason = reason;
  }

  /** History has been queued: release the held lines through the overlap filter, then go live. */
  goLive(overlap: Overlap): void {
    this.overlap = overlap.active ? overlap : null;
    const held = this.held.take(this.held.size, []);
    this.held.clear();
    this.phase = 'live';
    if (this.heldDropped > 0) this.owner.droppedLines(this.heldDropped);
    if (held.length > 0) this.owner.accept(this, held);
    if (this.endReason !== null) this.ended(this.endReason);
  }

  detach(): void {
    if (this.phase === 'detached') return;
    const wasAttached = this.phase !== 'ended';
    this.phase = 'detached';
    this.held.clear();
    if (wasAttached) this.follower.remove(this);
  }
}

export class ServiceLogStream implements AsyncIterableIterator<LogEvent[]> {
  private readonly queue = new EventQueue();
  /** history events still queued: they do not count against queueLimit */
  private historyQueued = 0;
  private droppedPending = 0;
  private waiter: ((result: IteratorResult<LogEvent[]>) => void) | null = null;
  private state: 'open' | 'finishing' | 'closed' = 'open';
  private started = false;
  private containerId: string | null = null;
  private attachment: Attachment | null = null;
  private attachedStartedAt: string | null = null;
  /** the last line queued from the current container */
  private watermark: { ts: string; key: string } | null = null;
  private latest: ServiceSnapshot | null = null;
  private reconciling = false;
  private watch: StreamWatch | null = null;

  constructor(
    private readonly host: StreamHost,
    readonly serviceId: string,
    private readonly request: LogRequest,
  ) {}

  bind(watch: StreamWatch): void {
    this.watch = watch;
  }

  get queued(): number {
    return this.queue.size;
  }

  // --- the async iterator ---------------------------------------------------------------

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<LogEvent[]>> {
    if (this.state === 'closed') return Promise.resolve({ value: undefined, done: true });
    if (this.queue.size > 0 || this.droppedPending > 0) return Promise.resolve({ value: this.take(), done: false });
    if (this.state === 'finishing') {
      this.close();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** The client left (graphql-ws complete or socket close, SSE disconnect): release everything. */
  return(): Promise<IteratorResult<LogEvent[]>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<LogEvent[]>> {
    this.close();
    return Promise.reject(error);
  }

  /** Ends the subscription now: detaches from the follower and the watch, drops the queue. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.detach();
    this.queue.clear();
    this.historyQueued = 0;
    this.droppedPending = 0;
    this.watch?.leave(this);
    this.watch = null;
    this.host.closed(this);
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.({ value: undefined, done: true });
  }

  /** Ends after what is queued has been delivered (the service was deleted). */
  private finish(): void {
    if (this.state !== 'open') return;
    this.state = 'finishing';
    this.detach();
    this.watch?.leave(this);
    this.watch = null;
    if (this.waiter) this.close();
  }

  private take(): LogEvent[] {
    if (this.droppedPending > 0) {
      // A message of its own: the lines after it stay the shared batches.
      const count = this.droppedPending;
      this.droppedPending = 0;
      return [marker('DROPPED', `${count} line${count === 1 ? '' : 's'} dropped: this subscriber reads slower than the container writes`, this.containerId, count)];
    }
    const batch = this.queue.take(this.host.batchLimit);
    this.historyQueued = Math.max(0, this.historyQueued - batch.length);
    return batch;
  }

  private wake(): void {
    if (!this.waiter || (this.queue.size === 0 && this.droppedPending === 0)) return;
    const waiter = this.waiter;
    this.waiter = null;
    waiter({ value: this.take(), done: false });
  }

  private enqueue(events: readonly LogEvent[], history = false): void {
    if (events.length === 0 || this.state !== 'open') return;
    this.queue.push(events);
    if (history) this.historyQueued += events.length;
    const excess = this.queue.size - this.host.queueLimit - this.historyQueued;
    if (excess > 0) {
      const dropped = this.queue.dropChunks(excess);
      this.historyQueued = Math.max(0, this.historyQueued - dropped);
      this.droppedLines(dropped);
    }
    this.wake();
  }

  droppedLines(count: number): void {
    this.droppedPending += count;
    this.host.dropped(count);
  }

  private remember(events: readonly LogEvent[]): void {
    for (let i = events.length - 1; i >= 0; i--) {
      const event = events[i];
      if (event.kind === 'LINE') {
        this.watermark = { ts: event.timestampNanos, key: keyOf(event) };
        return;
      }
    }
  }

  // --- from the attachment ---------------------------------------------------------------

  accept(attachment: Attachment, batch: readonly LogEvent[]): void {
    if (attachment !== this.attachment) return;
    let lines = batch;
    const overlap = attachment.overlap;
    if (overlap) {
      // Usually every line is new: then the shared batch goes on as it is (see Delivery).
      let kept: LogEvent[] | null = null;
      for (let i = 0; i < batch.length; i++) {
        const line = batch[i];
        if (!overlap.active || overlap.admit(line)) kept?.push(line);
        else kept ??= batch.slice(0, i);
      }
      if (!overlap.active) attachment.overlap = null;
      if (kept) lines = kept;
    }
    if (lines.length === 0) return;
    this.remember(lines);
    this.enqueue(lines);
  }

  attachmentEnded(attachment: Attachment, reason: string): void {
    if (attachment !== this.attachment || this.state !== 'open') return;
    this.enqueue([marker('CONTAINER_STOPPED', `container ${attachment.containerId.slice(0, 12)}: ${reason}`, attachment.containerId)]);
    this.watch?.poke();
  }

  // --- following the service -----------------------------------------------------------

  /** A fresh view of the service; applied one at a time, the newest wins. */
  onSnapshot(snapshot: ServiceSnapshot): void {
    if (this.state !== 'open') return;
    this.latest = snapshot;
    if (this.reconciling) return;
    this.reconciling = true;
    void this.reconcileLoop();
  }

  private async reconcileLoop(): Promise<void> {
    try {
      while (this.latest && this.state === 'open') {
        const snapshot = this.latest;
        this.latest = null;
        try {
          await this.reconcile(snapshot);
        } catch (err) {
          this.host.warn(err, 'log subscription could not follow the service', { serviceId: this.serviceId });
          this.watch?.pokeLater(2_000);
        }
      }
    } finally {
      this.reconciling = false;
    }
  }

  private async reconcile(snapshot: ServiceSnapshot): Promise<void> {
    if (!snapshot.exists) return this.finish();
    const initial = !this.started;
    this.started = true;
    if (snapshot.containerId !== this.containerId) {
      this.detach();
      if (!initial && snapshot.containerId) {
        this.enqueue([marker('CONTAINER_CHANGED', `now following container ${snapshot.containerId.slice(0, 12)}`, snapshot.containerId)]);
      }
      this.containerId = snapshot.containerId;
      this.watermark = null;
      this.attachedStartedAt = null;
      if (!snapshot.containerId || !snapshot.endpoint) return;
      // A container the subscription has not seen: the requested history for the first
      // one, everything it has written for the next ones.
      const request = initial ? { tail: this.request.tail, since: this.request.since } : { tail: MAX_TAIL, since: null };
      return this.attach(snapshot.endpoint, snapshot.containerId, request, this.request.since, null);
    }
    if (!this.containerId || !snapshot.endpoint) return;
    if (this.attachment && (this.attachment.phase === 'pending' || this.attachment.phase === 'live')) return;
    if (!snapshot.running) return; // a state event will say when it runs again
    if (snapshot.startedAt !== null && snapshot.startedAt === this.attachedStartedAt) {
      // Our stream ended but the container still runs the same start: it is stopping,
      // or the engine dropped the stream. Look again shortly.
      this.watch?.pokeLater(1_000);
      this.attachedStartedAt = null;
      return;
    }
    // The same container started again: resume after the last line delivered or, when
    // none was, after its previous run ended (that run's lines were history the request
    // excluded). Not from StartedAt: Docker records it after the process has started, so
    // the first lines of a run can be stamped before it.
    const floor = this.watermark;
    const finished = snapshot.finishedAt ? normalizeStamp(snapshot.finishedAt) : null;
    const since = floor?.ts ?? (finished && finished.ms > 0 ? finished.ts : null);
    return this.attach(snapshot.endpoint, this.containerId, { tail: MAX_TAIL, since }, since, floor);
  }

  private async attach(
    endpoint: string,
    containerId: string,
    history: HistoryRequest,
    since: string | null,
    floor: { ts: string; key: string } | null,
  ): Promise<void> {
    const follower = this.host.follower(endpoint, containerId);
    const attachment = new Attachment(this, follower, containerId, this.host.queueLimit + history.tail);
    this.attachment = attachment;
    follower.add(attachment);
    const attachedAt = this.host.tick();
    await follower.ready;
    if (this.attachment !== attachment || this.state !== 'open') return;
    const state = follower.state;
    this.attachedStartedAt = state?.startedAt ?? null;
    let chunks: HistoryChunks = [];
    if (state && history.tail > 0) {
      try {
        // Any request issued after this attachment existed covers everything up to the live lines it holds.
        chunks = await this.host.history(endpoint, containerId, state.tty, history, attachedAt);
      } catch (err) {
        this.host.warn(err, 'could not read container log history', { serviceId: this.serviceId, containerId });
      }
      if (this.attachment !== attachment || this.state !== 'open') return;
    }
    // After a restart: `since` was the last line delivered, which Docker returns again.
    if (floor) {
      const kept = (l: LogEvent) => l.timestampNanos > floor.ts || (l.timestampNanos === floor.ts && keyOf(l) !== floor.key);
      chunks = chunks.map((chunk) => (chunk.every(kept) ? chunk : chunk.filter(kept))).filter((chunk) => chunk.length > 0);
    }
    // The shared chunks go into the queue as they are, so subscribers deliver the same arrays.
    for (const chunk of chunks) this.enqueue(chunk, true);
    const recent = lastLines(chunks, OVERLAP_KEYS);
    this.remember(recent);
    attachment.goLive(new Overlap(recent, since, floor));
  }

  private detach(): void {
    const attachment = this.attachment;
    if (!attachment) return;
    this.attachment = null;
    attachment.detach();
  }
}
