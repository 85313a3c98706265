// The log hub: serviceLogs subscriptions, one shared Docker follower per container
// (follower.ts), one state watch per service. Counters for tests and benchmarks.
import type { PrismaClient } from '../../prisma/db.ts';
import type { DockerEngine } from '../docker/engine.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import type { EventBus, ServiceStateEvent } from '../events.ts';
import type { Logger } from '../logger.ts';
import { ContainerFollower } from './follower.ts';
import { dockerSince, LogParser, stampOf } from './parse.ts';
import { MAX_TAIL, ServiceLogStream, type HistoryChunks, type HistoryRequest, type ServiceSnapshot, type StreamHost, type StreamWatch } from './stream.ts';
import type { LogEvent, LogHubStats } from './types.ts';

export { MAX_TAIL } from './stream.ts';
export const DEFAULT_TAIL = 100;
/** Live events one subscription may have queued before the oldest are dropped. */
export const DEFAULT_QUEUE_LIMIT = 1_000;
/** Events per delivered message at most. */
export const DEFAULT_BATCH_LIMIT = 500;
/** A busy container has its lines dispatched at most once per this many milliseconds (more with many subscribers, see follower.ts). */
export const DEFAULT_FRAME_MS = 10;
/** How far ahead of the server's clock `since` may be (clients' clocks drift). */
const SINCE_SKEW_MS = 60_000;

export interface LogHubDeps {
  prisma: PrismaClient;
  events: EventBus;
  engineFor: (endpoint: string) => DockerEngine;
  logger: Logger;
  queueLimit?: number;
  batchLimit?: number;
  frameMs?: number;
}

export interface ServiceLogsArgs {
  /** past lines to start with: 0..10000; 100 by default, 10000 when `since` is given */
  tail?: number | null;
  /** only lines at or after this instant */
  since?: Date | null;
}

export class LogHub implements StreamHost {
  readonly queueLimit: number;
  readonly batchLimit: number;
  readonly frameMs: number;
  private readonly followers = new Map<string, ContainerFollower>();
  private readonly watches = new Map<string, ServiceWatch>();
  private readonly streams = new Set<ServiceLogStream>();
  private readonly counters = { openUpstreams: 0, upstreamsOpened: 0, upstreamLines: 0 };
  private historyRequests = 0;
  private ticks = 0;
  private readonly histories = new Map<string, { issuedAt: number; lines: Promise<HistoryChunks> }>();
  private droppedTotal = 0;
  private isClosed = false;

  constructor(private readonly deps: LogHubDeps) {
    this.queueLimit = deps.queueLimit ?? DEFAULT_QUEUE_LIMIT;
    this.batchLimit = deps.batchLimit ?? DEFAULT_BATCH_LIMIT;
    this.frameMs = deps.frameMs ?? DEFAULT_FRAME_MS;
  }

  /**
   * A subscription to the service's logs: `tail` past lines (or those since `since`),
   * then live lines, across redeploys, in batches. Throws NotFoundError for an unknown
   * service and ValidationError for bad arguments.
   */
  async subscribe(serviceId: string, args: ServiceLogsArgs = {}): Promise<ServiceLogStream> {
    const issues: { path: string; message: string }[] = [];
    const tail = args.tail ?? (args.since ? MAX_TAIL : DEFAULT_TAIL);
    if (!Number.isInteger(tail) || tail < 0 || tail > MAX_TAIL) issues.push({ path: 'tail', message: `must be an integer from 0 to ${MAX_TAIL}` });
    let since: string | null = null;
    if (args.since) {
      const ms = args.since.getTime();
      if (Number.isNaN(ms) || ms < 0) issues.push({ path: 'since', message: 'must be a valid date-time after 1970-01-01' });
      else if (ms > Date.now() + SINCE_SKEW_MS) issues.push({ path: 'since', message: 'must not be in the future' });
      else since = stampOf(args.since);
    }
    if (issues.length) throw new ValidationError(issues);
    if (this.isClosed) throw new Error('the log hub is closed');

    const stream = new ServiceLogStream(this, serviceId, { tail, since });
    this.streams.add(stream);
    let watch = this.watches.get(serviceId);
    if (!watch) this.watches.set(serviceId, (watch = new ServiceWatch(this, serviceId)));
    let snapshot: ServiceSnapshot;
    try {
      snapshot = await watch.join(stream);
    } catch (err) {
      stream.close();
      throw err;
    }
    if (!snapshot.exists) {
      stream.close();
      throw new NotFoundError('Service', serviceId);
    }
    return stream;
  }

  stats(): LogHubStats {
    let attachments = 0;
    for (const follower of this.followers.values()) attachments += follower.size;
    let queuedEvents = 0;
    for (const stream of this.streams) queuedEvents += stream.queued;
    return {
      followers: this.followers.size,
      openUpstreams: this.counters.openUpstreams,
      upstreamsOpened: this.counters.upstreamsOpened,
      upstreamLines: this.counters.upstreamLines,
      historyRequests: this.historyRequests,
      subscriptions: this.streams.size,
      attachments,
      watches: this.watches.size,
      droppedLines: this.droppedTotal,
      queuedEvents,
    };
  }

  /** Ends every subscription and destroys every upstream stream. */
  async close(): Promise<void> {
    this.isClosed = true;
    for (const stream of [...this.streams]) stream.close();
    for (const follower of [...this.followers.values()]) follower.close('the server is shutting down');
    for (const watch of [...this.watches.values()]) watch.dispose();
  }

  // --- StreamHost ------------------------------------------------------------------------

  /** The container's shared follower, started if there is none (or the last one ended). */
  follower(endpoint: string, containerId: string): ContainerFollower {
    const key = `${endpoint}|${containerId}`;
    let follower = this.followers.get(key);
    if (!follower || follower.ended) {
      follower = new ContainerFollower(
        this.deps.engineFor(endpoint).docker,
        containerId,
        this.counters,
        (gone) => {
          if (this.followers.get(key) === gone) this.followers.delete(key);
        },
        this.deps.logger,
        this.frameMs,
        this.batchLimit,
      );
      this.followers.set(key, follower);
    }
    return follower;
  }

  tick(): number {
    return ++this.ticks;
  }

  /**
   * Past lines of one container with a non-follow request, shared by the subscribers that
   * ask for the same lines while it is in flight and attached before it was issued (a
   * restart makes every subscriber of the service ask at once: one request, not N).
   */
  history(endpoint: string, containerId: string, tty: boolean, request: HistoryRequest, after: number): Promise<HistoryChunks> {
    const key = `${endpoint}|${containerId}|${request.tail}|${request.since ?? ''}`;
    const pending = this.histories.get(key);
    if (pending && pending.issuedAt > after) return pending.lines;
    const lines = this.fetchHistory(endpoint, containerId, tty, request);
    const entry = { issuedAt: this.tick(), lines };
    this.histories.set(key, entry);
    const forget = () => {
      if (this.histories.get(key) === entry) this.histories.delete(key);
    };
    lines.then(forget, forget);
    return lines;
  }

  private async fetchHistory(endpoint: string, containerId: string, tty: boolean, request: HistoryRequest): Promise<HistoryChunks> {
    this.historyRequests++;
    let body: Buffer;
    try {
      body = await this.deps
        .engineFor(endpoint)
        .docker.getContainer(containerId)
        .logs({
          follow: false,
          stdout: true,
          stderr: true,
          timestamps: true,
          tail: request.tail,
          ...(request.since !== null && { since: dockerSince(request.since) }),
        });
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return [];
      throw err;
    }
    const parser = new LogParser(containerId, tty);
    const lines = parser.push(body);
    for (const rest of parser.end()) lines.push(rest);
    const since = request.since;
    const kept = since === null ? lines : lines.filter((line) => line.timestampNanos >= since);
    const chunks: LogEvent[][] = [];
    for (let at = 0; at < kept.length; at += this.batchLimit) chunks.push(kept.slice(at, at + this.batchLimit));
    return chunks;
  }

  dropped(count: number): void {
    this.droppedTotal += count;
  }

  closed(stream: ServiceLogStream): void {
    this.streams.delete(stream);
  }

  warn(err: unknown, message: string, context: Record<string, unknown>): void {
    this.deps.logger.warn({ err, ...context }, message);
  }

  // --- for ServiceWatch -----------------------------------------------------------------

  subscribeState(serviceId: string): AsyncIterator<ServiceStateEvent> {
    return this.deps.events.subscribe('service:state', serviceId)[Symbol.asyncIterator]();
  }

  /** Resolves when the container is gone (a long-poll on the engine). */
  async waitRemoved(endpoint: string, containerId: string, signal: AbortSignal): Promise<void> {
    await this.deps.engineFor(endpoint).docker.getContainer(containerId).wait({ condition: 'removed', abortSignal: signal });
  }

  forgetWatch(watch: ServiceWatch): void {
    if (this.watches.get(watch.serviceId) === watch) this.watches.delete(watch.serviceId);
  }

  async snapshot(serviceId: string): Promise<ServiceSnapshot> {
    const service = await this.deps.prisma.service.findUnique({
      where: { id: serviceId },
      select: { containerId: true, deployment: { select: { node: { select: { endpoint: true } } } } },
    });
    if (!service) return { exists: false, endpoint: null, containerId: null, running: false, startedAt: null, finishedAt: null, missing: false };
    const endpoint = service.deployment.node.endpoint;
    if (!service.containerId) return { exists: true, endpoint, containerId: null, running: false, startedAt: null, finishedAt: null, missing: false };
    const info = await this.deps.engineFor(endpoint).inspectContainer(service.containerId);
    return {
      exists: true,
      endpoint,
      containerId: service.containerId,
      running: info?.State.Running === true,
      startedAt: info?.State.StartedAt ?? null,
      finishedAt: info?.State.FinishedAt ?? null,
      missing: info === null,
    };
  }
}

/**
 * One per service with subscribers: a single listener on the service's state topic,
 * and a single database read (plus inspect) per transition, shared by all of them.
 */
class ServiceWatch implements StreamWatch {
  private readonly streams = new Set<ServiceLogStream>();
  private readonly events: AsyncIterator<ServiceStateEvent>;
  private snapshot: ServiceSnapshot | null = null;
  private inflight: Promise<ServiceSnapshot> | null = null;
  private queued: Promise<ServiceSnapshot> | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Docker's wait-until-removed on a stopped container: deletions publish no state event. */
  private removal: { containerId: string; abort: AbortController } | null = null;
  private disposed = false;

  constructor(
    private readonly hub: LogHub,
    readonly serviceId: string,
  ) {
    this.events = hub.subscribeState(serviceId);
    void this.listen();
  }

  /** Adds a subscription and hands it the current view of the service. */
  join(stream: ServiceLogStream): Promise<ServiceSnapshot> {
    this.streams.add(stream);
    stream.bind(this);
    if (this.snapshot && !this.inflight) {
      stream.onSnapshot(this.snapshot);
      return Promise.resolve(this.snapshot);
    }
    // The load under way (or a new one) tells every stream in the set, this one included.
    return this.inflight ?? this.refresh();
  }

  leave(stream: ServiceLogStream): void {
    this.streams.delete(stream);
    if (this.streams.size === 0) this.dispose();
  }

  poke(): void {
    if (this.disposed) return;
    this.refresh().catch((err) => {
      this.hub.warn(err, 'could not read the service for its log subscriptions', { serviceId: this.serviceId });
      this.pokeLater(2_000);
    });
  }

  pokeLater(ms: number): void {
    if (this.timer || this.disposed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.poke();
    }, ms);
    this.timer.unref();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.removal?.abort.abort();
    this.removal = null;
    void this.events.return?.();
    this.hub.forgetWatch(this);
  }

  /** Loads now, or once more after the load under way: never two at a time. */
  private refresh(): Promise<ServiceSnapshot> {
    if (!this.inflight) {
      this.inflight = this.load().finally(() => {
        this.inflight = null;
      });
      return this.inflight;
    }
    this.queued ??= this.inflight
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.refresh();
      });
    return this.queued;
  }

  private async load(): Promise<ServiceSnapshot> {
    const snapshot = await this.hub.snapshot(this.serviceId);
    if (this.disposed) return snapshot;
    this.snapshot = snapshot;
    for (const stream of [...this.streams]) stream.onSnapshot(snapshot);
    // A container id without a container: a swap in progress or a service being deleted.
    if (snapshot.missing) this.pokeLater(1_000);
    // A stopped container: starting it again publishes a state event, removing it does not.
    if (snapshot.containerId && snapshot.endpoint && !snapshot.running && !snapshot.missing) this.awaitRemoval(snapshot.endpoint, snapshot.containerId);
    return snapshot;
  }

  private awaitRemoval(endpoint: string, containerId: string): void {
    if (this.removal?.containerId === containerId) return;
    this.removal?.abort.abort();
    const removal = { containerId, abort: new AbortController() };
    this.removal = removal;
    this.hub
      .waitRemoved(endpoint, containerId, removal.abort.signal)
      .then(
        () => this.poke(),
        (err: unknown) => {
          if (removal.abort.signal.aborted) return;
          if ((err as { statusCode?: number }).statusCode === 404) return this.poke();
          this.hub.warn(err, 'could not wait for the container to be removed', { serviceId: this.serviceId, containerId });
          this.pokeLater(5_000);
        },
      )
      .finally(() => {
        if (this.removal === removal) this.removal = null;
      });
  }

  private async listen(): Promise<void> {
    try {
      for (;;) {
        const result = await this.events.next();
        if (result.done || this.disposed) return;
        this.poke();
      }
    } catch (err) {
      if (!this.disposed) this.hub.warn(err, 'service state events failed for log subscriptions', { serviceId: this.serviceId });
    }
  }
}
