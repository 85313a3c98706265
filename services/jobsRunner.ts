// Carries out job runs: one exec per run in the service's running container, output
// stored and streamed, a timeout that really stops the processes, and the outcome read
// from exec inspect. Also finishes runs whose API instance went away (reap).
import type { PrismaClient } from '../prisma/db.ts';
import type { JobRun } from '../prisma/generated/client/client.ts';
import type { JobRunStatus } from '../prisma/generated/client/enums.ts';
import { ContainerExec } from './docker/exec.ts';
import type { DockerEngine } from './docker/engine.ts';
import type { EventBus } from './events.ts';
import { JobRunOutput } from './jobsOutput.ts';
import type { Logger } from './logger.ts';

/** Where a run's processes live. */
export interface RunPlace {
  engine: DockerEngine;
  containerId: string;
}

interface ActiveRun {
  place: RunPlace;
  done: Promise<void>;
  /** set when the API stops under the run */
  interrupted: boolean;
  exec?: ContainerExec;
  /** stops the exec; gives up waiting for it if it can't be stopped */
  stop?: () => Promise<void>;
  /** set when the processes survived a stop (the image lacks sh, tr or grep) */
  unstoppable: boolean;
}

// A run no instance is carrying is finished by the reaper once it has been seen stopped
// twice this far apart (its own instance finishes it within milliseconds).
const ORPHAN_CONFIRM_MS = 5_000;
const ORPHAN_MIN_AGE_MS = 30_000;

export class JobRunner {
  private readonly active = new Map<string, ActiveRun>();
  private readonly suspects = new Map<string, number>();
  private readonly reapedForTimeout = new Set<string>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly events: EventBus,
    private readonly logger: Logger,
  ) {}

  /** Starts the run in the background; the record is already RUNNING. */
  launch(run: JobRun, job: { command: string; timeoutSeconds: number | null }, place: RunPlace): void {
    const entry: ActiveRun = { place, done: Promise.resolve(), interrupted: false, unstoppable: false };
    this.active.set(run.id, entry);
    entry.done = this.execute(run, job, entry)
      .catch((error) => this.logger.error({ err: error, jobRunId: run.id }, 'job run crashed'))
      .finally(() => this.active.delete(run.id));
  }

  private async execute(run: JobRun, job: { command: string; timeoutSeconds: number | null }, entry: ActiveRun): Promise<void> {
    const output = new JobRunOutput(this.prisma, this.events, run.id);
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      const exec = await ContainerExec.start(entry.place.engine.docker, {
        containerId: entry.place.containerId,
        command: job.command,
        marker: run.id,
        onOutput: (stream, chunk) => output.push(stream, chunk),
      });
      entry.exec = exec;
      const giveUp = new AbortController();
      entry.stop = async () => {
        await exec.stop();
        if ((await exec.inspect()).running) {
          entry.unstoppable = true;
          giveUp.abort();
        }
      };
      const stopExec = () => void entry.stop!().catch((error) => this.logger.warn({ err: error, jobRunId: run.id }, 'could not stop a job run'));
      if (job.timeoutSeconds) {
        timer = setTimeout(() => {
          timedOut = true;
          stopExec();
        }, job.timeoutSeconds * 1000);
      }
      const recorded = await this.prisma.jobRun.updateMany({ where: { id: run.id }, data: { execId: exec.id } });
      // Cancelled (here or on another instance) or deleted before the exec existed.
      if (entry.interrupted || recorded.count === 0 || (await this.statusOf(run.id)) !== 'RUNNING') stopExec();
      const exitCode = await exec.waitForExit(giveUp.signal);
      clearTimeout(timer);
      exec.close();
      const outcome = this.outcome(exitCode, timedOut, entry.interrupted, job.timeoutSeconds);
      if (entry.unstoppable) {
        const why = timedOut ? `timed out after ${job.timeoutSeconds}s` : 'asked to stop';
        outcome.error = `${why}, but its processes could not be stopped (the image needs sh, tr and grep); they may still be running`;
      }
      await output.finish(outcome);
    } catch (error) {
      clearTimeout(timer);
      // Don't leave a command running that nobody records.
      await entry.stop?.().catch(() => undefined);
      entry.exec?.close();
      await output.finish({ status: 'FAILED', exitCode: null, error: error instanceof Error ? error.message : String(error) });
    }
  }

  private outcome(
    exitCode: number | null,
    timedOut: boolean,
    interrupted: boolean,
    timeoutSeconds: number | null,
  ): { status: JobRunStatus; exitCode: number | null; error: string | null } {
    if (interrupted) return { status: 'FAILED', exitCode, error: 'interrupted: the API stopped during this run' };
    if (timedOut) return { status: 'TIMED_OUT', exitCode, error: `timed out after ${timeoutSeconds}s; its processes were stopped` };
    if (exitCode === 0) return { status: 'SUCCEEDED', exitCode, error: null };
    return {
      status: 'FAILED' as const,
      exitCode,
      error: exitCode === null ? 'the command ended without an exit code (was the container stopped?)' : `exited with code ${exitCode}`,
    };
  }

  private async statusOf(runId: string): Promise<JobRunStatus | null> {
    return (await this.prisma.jobRun.findUnique({ where: { id: runId }, select: { status: true } }))?.status ?? null;
  }

  /**
   * Stops the run's processes wherever they run. The instance carrying the run records
   * the exit; a run nobody carries gets its FINISHED event from here.
   */
  async stop(run: JobRun, place: RunPlace | null): Promise<void> {
    const local = this.active.get(run.id);
    if (local?.stop) {
      await local.stop();
      return;
    }
    if (place) await ContainerExec.stop(place.engine.docker, place.containerId, run.id);
    if (!local) {
      const current = await this.prisma.jobRun.findUnique({ where: { id: run.id } });
      if (current && current.status !== 'RUNNING') this.publishFinished(current);
    }
  }

  /** The API is stopping: runs carried here are stopped and recorded as interrupted. */
  async shutdown(): Promise<void> {
    const entries = [...this.active.values()];
    for (const entry of entries) {
      entry.interrupted = true;
      void entry.stop?.().catch(() => undefined);
    }
    await Promise.race([Promise.all(entries.map((e) => e.done)), sleep(10_000)]);
  }

  /**
   * Finishes RUNNING runs that no live instance carries: the exec is gone (FAILED, with
   * its exit code) or it outlived its timeout (stopped, then TIMED_OUT).
   */
  async reap(placeOf: (run: JobRun) => Promise<RunPlace | null | undefined>): Promise<void> {
    const now = Date.now();
    const runs = await this.prisma.jobRun.findMany({
      where: { status: 'RUNNING', startedAt: { lt: new Date(now - ORPHAN_MIN_AGE_MS) }, id: { notIn: [...this.active.keys()] } },
      include: { job: { select: { timeoutSeconds: true } } },
    });
    for (const run of runs) {
      const place = await placeOf(run).catch(() => undefined);
      if (place === undefined) continue; // engine unreachable: try again later
      const state = run.execId && place ? await ContainerExec.inspect(place.engine.docker, run.execId).catch(() => null) : { running: false, exitCode: null };
      if (!state) continue; // engine unreachable: try again later
      if (state.running) {
        const limit = run.job.timeoutSeconds;
        if (place && limit && run.startedAt.getTime() + limit * 1000 + ORPHAN_MIN_AGE_MS < now) {
          this.reapedForTimeout.add(run.id);
          await ContainerExec.stop(place.engine.docker, place.containerId, run.id);
        }
        continue;
      }
      const firstSeen = this.suspects.get(run.id);
      if (firstSeen === undefined) {
        this.suspects.set(run.id, now);
        continue;
      }
      if (now - firstSeen < ORPHAN_CONFIRM_MS) continue;
      this.suspects.delete(run.id);
      const timedOut = this.reapedForTimeout.delete(run.id);
      const { count } = await this.prisma.jobRun.updateMany({
        where: { id: run.id, status: 'RUNNING' },
        data: {
          status: timedOut ? 'TIMED_OUT' : 'FAILED',
          exitCode: state.exitCode,
          finishedAt: new Date(),
          error: timedOut
            ? `timed out after ${run.job.timeoutSeconds}s; stopped after the API instance running it went away`
            : 'the API instance running this job stopped before it finished; later output was not captured',
        },
      });
      if (count) this.publishFinished(await this.prisma.jobRun.findUniqueOrThrow({ where: { id: run.id } }));
    }
  }

  private publishFinished(run: JobRun): void {
    this.events.publish('jobRun:output', run.id, {
      jobRunId: run.id,
      kind: 'FINISHED',
      offset: run.output.length,
      data: '',
      stream: null,
      status: run.status,
      exitCode: run.exitCode,
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
