// A job run's output: written to the run's record, then published, in batches. Because
// every published chunk is already stored, a late subscriber that listens first and reads
// the record second gets everything exactly once (see replayJobRunOutput).
import { StringDecoder } from 'node:string_decoder';
import { Repeater } from '@graphql-yoga/subscription';
import type { PrismaClient } from '../prisma/db.ts';
import type { JobRun } from '../prisma/generated/client/client.ts';
import type { JobRunStatus } from '../prisma/generated/client/enums.ts';
import type { EventBus, JobRunOutputEvent } from './events.ts';
import { isRecordNotFound } from './prismaErrors.ts';

/** What a run keeps: while it runs, the first OUTPUT_LIMIT characters; at the end, head and tail. */
export const OUTPUT_LIMIT = 64 * 1024;
const FLUSH_MS = 200;

type Stream = 'stdout' | 'stderr';
interface Chunk {
  offset: number;
  data: string;
  stream: Stream;
}

export class JobRunOutput {
  private readonly decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  private head = '';
  private storedHeadLength = 0;
  private tail = '';
  private total = 0;
  private pending: Chunk[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly events: EventBus,
    private readonly runId: string,
  ) {}

  push(stream: Stream, chunk: Buffer): void {
    this.append(stream, this.decoders[stream].write(chunk));
  }

  private append(stream: Stream, text: string): void {
    if (!text) return;
    const last = this.pending.at(-1);
    if (last && last.stream === stream) last.data += text;
    else this.pending.push({ offset: this.total, data: text, stream });
    this.total += text.length;
    if (this.head.length < OUTPUT_LIMIT) this.head += text.slice(0, OUTPUT_LIMIT - this.head.length);
    this.tail += text;
    if (this.tail.length > OUTPUT_LIMIT) this.tail = this.tail.slice(-OUTPUT_LIMIT / 2);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, FLUSH_MS);
  }

  /** Stores the head when it grew, then publishes what is pending. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const batch = this.pending;
      this.pending = [];
      if (this.head.length !== this.storedHeadLength) {
        const length = this.head.length;
        await this.prisma.jobRun
          .update({ where: { id: this.runId }, data: { output: this.head, outputTruncated: this.total > length } })
          .catch((error) => {
            if (!isRecordNotFound(error)) throw error;
          });
        this.storedHeadLength = length;
      }
      for (const chunk of batch) {
        this.events.publish('jobRun:output', this.runId, { jobRunId: this.runId, kind: 'OUTPUT', ...chunk, status: null, exitCode: null });
      }
    });
    return this.flushing;
  }

  /**
   * Writes the outcome with the whole (capped) output. A run that was cancelled meanwhile
   * keeps that status and gets only the output and exit code. Publishes FINISHED last.
   */
  async finish(outcome: { status: JobRunStatus; exitCode: number | null; error: string | null }): Promise<JobRun | null> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.append('stdout', this.decoders.stdout.end());
    this.append('stderr', this.decoders.stderr.end());
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    const output = this.finalText();
    const data = { output, outputTruncated: this.total > OUTPUT_LIMIT, exitCode: outcome.exitCode };
    let run: JobRun | null;
    try {
      const { count } = await this.prisma.jobRun.updateMany({
        where: { id: this.runId, status: 'RUNNING' },
        data: { ...data, status: outcome.status, error: outcome.error, finishedAt: new Date() },
      });
      run = count ? await this.prisma.jobRun.findUnique({ where: { id: this.runId } }) : await this.prisma.jobRun.update({ where: { id: this.runId }, data });
    } catch (error) {
      if (!isRecordNotFound(error)) throw error;
      run = null; // the job was deleted meanwhile
    }
    this.storedHeadLength = this.head.length;
    await this.flush();
    this.events.publish('jobRun:output', this.runId, {
      jobRunId: this.runId,
      kind: 'FINISHED',
      offset: this.total,
      data: '',
      stream: null,
      status: run?.status ?? outcome.status,
      exitCode: outcome.exitCode,
    });
    return run;
  }

  private finalText(): string {
    if (this.total <= OUTPUT_LIMIT) return this.head;
    const half = OUTPUT_LIMIT / 2;
    const tail = this.tail.slice(-half);
    const omitted = this.total - half - tail.length;
    return `${this.head.slice(0, half)}\n[… ${omitted} characters omitted …]\n${tail}`;
  }
}

/**
 * The run's output from the start: what is stored, then live chunks, then FINISHED, and
 * the stream ends. Subscribes before reading the record so nothing falls in between;
 * chunks the record already covers (by offset) are dropped.
 */
export function replayJobRunOutput(prisma: PrismaClient, events: EventBus, runId: string): AsyncIterableIterator<JobRunOutputEvent> {
  return new Repeater<JobRunOutputEvent>(async (push, stop) => {
    const live = events.subscribe('jobRun:output', runId)[Symbol.asyncIterator]();
    let next = live.next(); // starts listening now
    void stop.then(() => live.return?.());
    const run = await prisma.jobRun.findUnique({ where: { id: runId }, select: { output: true, status: true, exitCode: true } });
    if (!run) return stop();
    const finished = (status: string, exitCode: number | null, offset: number): JobRunOutputEvent => ({
      jobRunId: runId,
      kind: 'FINISHED',
      offset,
      data: '',
      stream: null,
      status,
      exitCode,
    });
    if (run.output) await push({ jobRunId: runId, kind: 'OUTPUT', offset: 0, data: run.output, stream: null, status: null, exitCode: null });
    if (run.status !== 'RUNNING') {
      await push(finished(run.status, run.exitCode, run.output.length));
      return stop();
    }
    let covered = run.output.length;
    for (;;) {
      const result = await Promise.race([next, stop.then(() => null)]);
      if (!result || result.done) return stop();
      next = live.next();
      const event = result.value;
      if (event.kind === 'FINISHED') {
        await push(event);
        return stop();
      }
      const end = event.offset + event.data.length;
      if (end <= covered) continue;
      const skip = Math.max(0, covered - event.offset);
      await push({ ...event, offset: event.offset + skip, data: event.data.slice(skip) });
      covered = end;
    }
  });
}
