// One upstream Docker logs stream per container, shared by every subscriber of it.
// It asks only for new lines (`tail: 0`, `follow: true`): history is fetched per
// subscriber with a separate non-follow request (see stream.ts). The stream is destroyed
// when its last sink leaves, and ends by itself when the container stops or is removed.
import type { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import type { Logger } from '../logger.ts';
import { LogParser } from './parse.ts';
import type { LogEvent } from './types.ts';

export interface FollowerSink {
  /** Lines in order, one array per upstream chunk; shared with other sinks, never mutate it. */
  lines(batch: readonly LogEvent[]): void;
  /** The upstream ended (container stopped or removed, engine gone); no more lines come. */
  ended(reason: string): void;
}

export interface ContainerState {
  tty: boolean;
  running: boolean;
  startedAt: string;
}

export interface FollowerCounters {
  openUpstreams: number;
  upstreamsOpened: number;
  upstreamLines: number;
}

export class ContainerFollower {
  private readonly sinks = new Set<FollowerSink>();
  private readonly abort = new AbortController();
  private stream: Readable | null = null;
  private finished = false;
  /** What inspect said when the follower started; null when the container does not exist. */
  state: ContainerState | null = null;
  /** Resolves once the upstream is open (Docker now queues every new line for us) or has ended. */
  readonly ready: Promise<void>;

  // Coalescing: lines that arrive within one frame interval of the last dispatch wait for
  // the next frame, so a busy container reaches its subscribers in few batches (the same
  // arrays for everyone), while a quiet one is dispatched at once. Docker sends one message
  // per line: without this a fast writer costs one message per line per subscriber. Each
  // dispatch costs one socket write per subscriber, so the interval grows with them:
  // `frameMs` up to 50 subscribers, then 0.2 ms per subscriber, at most 2.5 × `frameMs`
  // (with the default 10 ms: 20 ms at 100 subscribers, 25 ms from 125).
  private frame: LogEvent[] = [];
  private frameTimer: NodeJS.Timeout | null = null;
  private lastDispatch = 0;

  constructor(
    private readonly docker: Dockerode,
    readonly containerId: string,
    private readonly counters: FollowerCounters,
    private readonly forget: (follower: ContainerFollower) => void,
    private readonly logger: Logger,
    private readonly frameMs: number,
    private readonly frameLimit: number,
  ) {
    this.ready = this.open();
  }

  get ended(): boolean {
    return this.finished;
  }

  get size(): number {
    return this.sinks.size;
  }

  add(sink: FollowerSink): void {
    if (this.finished) throw new Error('follower already ended');
    this.sinks.add(sink);
  }

  /** Detaches a sink; the last one out destroys the upstream. */
  remove(sink: FollowerSink): void {
    if (!this.sinks.delete(sink) || this.sinks.size > 0 || this.finished) return;
    this.finish(null);
  }

  /** Ends the follower now, telling every sink why (the hub is closing). */
  close(reason: string): void {
    this.finish(reason);
  }

  private async open(): Promise<void> {
    const container = this.docker.getContainer(this.containerId);
    try {
      const info = await container.inspect();
      this.state = { tty: info.Config.Tty === true, running: info.State.Running === true, startedAt: info.State.StartedAt };
      if (this.finished) return;
      // A stopped container's follow request answers at once with nothing: skip it.
      if (!this.state.running) return this.finish('container is not running');
      const stream = (await container.logs({
        follow: true,
        stdout: true,
        stderr: true,
        timestamps: true,
        tail: 0,
        abortSignal: this.abort.signal,
      })) as unknown as Readable;
      this.counters.openUpstreams++;
      this.counters.upstreamsOpened++;
      stream.once('close', () => this.counters.openUpstreams--);
      if (this.finished) {
        stream.destroy();
        return;
      }
      this.stream = stream;
      this.pump(stream, new LogParser(this.containerId, this.state.tty));
    } catch (err) {
      if (this.finished) return;
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 404) return this.finish('container was removed');
      this.logger.warn({ err, containerId: this.containerId }, 'could not follow container logs');
      this.finish(`could not follow the container's logs: ${(err as Error).message}`);
    }
  }

  private pump(stream: Readable, parser: LogParser): void {
    stream.on('data', (chunk: Buffer) => {
      let batch: LogEvent[];
      try {
        batch = parser.push(chunk);
      } catch (err) {
        this.logger.warn({ err, containerId: this.containerId }, 'corrupt log stream');
        return this.finish(`corrupt log stream: ${(err as Error).message}`);
      }
      if (batch.length === 0) return;
      this.counters.upstreamLines += batch.length;
      this.collect(batch);
    });
    const end = (reason: string) => () => {
      if (this.finished) return;
      const rest = parser.end();
      if (rest.length > 0) this.collect(rest);
      this.flush();
      this.finish(reason);
    };
    stream.once('end', end('container stopped'));
    stream.once('close', end('container stopped'));
    stream.once('error', (err: Error) => end(`log stream failed: ${err.message}`)());
  }

  private collect(lines: LogEvent[]): void {
    const interval = Math.min(2.5 * this.frameMs, Math.max(this.frameMs, 0.2 * this.sinks.size));
    if (this.frame.length === 0 && this.frameTimer === null && performance.now() - this.lastDispatch >= interval && lines.length <= this.frameLimit) {
      this.lastDispatch = performance.now();
      this.dispatch(lines);
      return;
    }
    for (const line of lines) {
      this.frame.push(line);
      if (this.frame.length >= this.frameLimit) this.flush();
    }
    if (this.frame.length > 0 && this.frameTimer === null) {
      this.frameTimer = setTimeout(() => this.flush(), Math.max(0, this.lastDispatch + interval - performance.now()));
    }
  }

  private flush(): void {
    if (this.frameTimer !== null) clearTimeout(this.frameTimer);
    this.frameTimer = null;
    if (this.frame.length === 0) return;
    const frame = this.frame;
    this.frame = [];
    this.lastDispatch = performance.now();
    this.dispatch(frame);
  }

  private dispatch(batch: readonly LogEvent[]): void {
    for (const sink of this.sinks) sink.lines(batch);
  }

  /** Idempotent: forgets the follower, releases the upstream, and tells the sinks (unless they all left). */
  private finish(reason: string | null): void {
    if (this.finished) return;
    this.finished = true;
    if (this.frameTimer !== null) clearTimeout(this.frameTimer);
    this.frameTimer = null;
    this.forget(this);
    this.abort.abort();
    if (this.stream) {
      this.stream.removeAllListeners('data');
      this.stream.on('error', () => undefined);
      this.stream.destroy();
      this.stream = null;
    }
    if (reason === null) return;
    const sinks = [...this.sinks];
    this.sinks.clear();
    for (const sink of sinks) sink.ended(reason);
  }
}
