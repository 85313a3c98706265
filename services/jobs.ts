// Jobs: named shell commands of a service, run on demand or on a cron schedule inside its
// running container. Every run is a JobRun record; JobRunner carries them out.
import type { PrismaClient } from '../prisma/db.ts';
import type { Job, JobRun, Service } from '../prisma/generated/client/client.ts';
import type { JobRunStatus } from '../prisma/generated/client/enums.ts';
import type { DockerEngine } from './docker/engine.ts';
import { ConflictError, DomainError, NotFoundError } from './errors.ts';
import type { EventBus, JobRunOutputEvent } from './events.ts';
import { replayJobRunOutput } from './jobsOutput.ts';
import { JobRunner, type RunPlace } from './jobsRunner.ts';
import { Schedule } from './jobsSchedule.ts';
import type { Logger } from './logger.ts';
import { isUniqueViolation } from './prismaErrors.ts';
import { Issues } from './validation.ts';

/** The job's service has no running container to run the command in. */
export class ServiceNotRunningError extends DomainError {
  readonly code = 'SERVICE_NOT_RUNNING';
  constructor(
    readonly serviceId: string,
    readonly serviceName: string,
    readonly status: string,
  ) {
    super(`service "${serviceName}" is not running (status ${status}): start or deploy it before running its jobs`);
  }
}

/** A run of this job is in progress and the job does not allow overlapping runs. */
export class JobAlreadyRunningError extends DomainError {
  readonly code = 'JOB_ALREADY_RUNNING';
  constructor(
    readonly jobName: string,
    readonly jobRunId: string,
  ) {
    super(`job "${jobName}" is already running (run ${jobRunId}); set allowOverlap to run it again meanwhile`);
  }
}

export interface CreateJobInput {
  serviceId: string;
  name: string;
  command: string;
  timeoutSeconds?: number | null;
  schedule?: string | null;
  allowOverlap?: boolean | null;
}

export interface UpdateJobInput {
  id: string;
  name?: string | null;
  command?: string | null;
  /** null removes the limit */
  timeoutSeconds?: number | null;
  /** null makes the job on-demand only */
  schedule?: string | null;
  allowOverlap?: boolean | null;
}

export const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const MAX_COMMAND = 16 * 1024;
const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
export const SCHEDULE_TRIGGER = 'schedule';

type ServiceWithPlace = Service & { deployment: { node: { endpoint: string } } };
type JobWithPlace = Job & { service: ServiceWithPlace };
const withPlace = { service: { include: { deployment: { select: { node: { select: { endpoint: true } } } } } } } as const;

export class JobService {
  readonly runner: JobRunner;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly engineFor: (endpoint: string) => DockerEngine,
    private readonly events: EventBus,
    logger: Logger,
  ) {
    this.runner = new JobRunner(prisma, events, logger);
  }

  // --- configuration ----------------------------------------------------------------------

  async get(id: string): Promise<JobWithPlace> {
    const job = await this.prisma.job.findUnique({ where: { id }, include: withPlace });
    if (!job) throw new NotFoundError('Job', id);
    return job;
  }

  async getRun(id: string): Promise<JobRun> {
    const run = await this.prisma.jobRun.findUnique({ where: { id } });
    if (!run) throw new NotFoundError('JobRun', id);
    return run;
  }

  private check(issues: Issues, input: Omit<UpdateJobInput, 'id'>): Schedule | null {
    if (input.name != null && !JOB_NAME.test(input.name)) {
      issues.add('name', 'must be 1-63 letters, digits, "_", "." or "-", starting with a letter or digit');
    }
    if (input.command != null) {
      if (!input.command.trim()) issues.add('command', 'must not be empty');
      else if (input.command.length > MAX_COMMAND) issues.add('command', `must be at most ${MAX_COMMAND} characters`);
      else if (input.command.includes('\0')) issues.add('command', 'must not contain NUL bytes');
    }
    const timeout = input.timeoutSeconds;
    if (timeout != null && (!Number.isInteger(timeout) || timeout < 1 || timeout > MAX_TIMEOUT_SECONDS)) {
      issues.add('timeoutSeconds', `must be a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}`);
    }
    if (input.schedule == null) return null;
    const schedule = Schedule.parse(input.schedule);
    if (typeof schedule === 'string') {
      issues.add('schedule', schedule);
      return null;
    }
    return schedule;
  }

  async create(input: CreateJobInput): Promise<Job> {
    const issues = new Issues();
    const schedule = this.check(issues, input);
    issues.throwIfAny();
    if (!(await this.prisma.service.findUnique({ where: { id: input.serviceId }, select: { id: true } }))) {
      throw new NotFoundError('Service', input.serviceId);
    }
    try {
      return await this.prisma.job.create({
        data: {
          serviceId: input.serviceId,
          name: input.name,
          command: input.command,
          timeoutSeconds: input.timeoutSeconds ?? null,
          schedule: input.schedule?.trim() ?? null,
          allowOverlap: input.allowOverlap ?? false,
          nextRunAt: schedule?.next(new Date()) ?? null,
        },
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`service already has a job named "${input.name}"`);
      throw error;
    }
  }

  async update(input: UpdateJobInput): Promise<Job> {
    const current = await this.get(input.id);
    const issues = new Issues();
    const schedule = this.check(issues, input);
    if (input.name === null) issues.add('name', 'cannot be cleared');
    if (input.command === null) issues.add('command', 'cannot be cleared');
    issues.throwIfAny();
    const scheduleChanged = input.schedule !== undefined && (input.schedule?.trim() ?? null) !== current.schedule;
    try {
      return await this.prisma.job.update({
        where: { id: input.id },
        data: {
          ...(input.name != null && { name: input.name }),
          ...(input.command != null && { command: input.command }),
          ...(input.timeoutSeconds !== undefined && { timeoutSeconds: input.timeoutSeconds }),
          ...(input.allowOverlap != null && { allowOverlap: input.allowOverlap }),
          ...(scheduleChanged && { schedule: input.schedule?.trim() ?? null, nextRunAt: schedule?.next(new Date()) ?? null }),
        },
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`service already has a job named "${input.name}"`);
      throw error;
    }
  }

  /** Stops the job's running runs, then removes it with its history. */
  async delete(id: string, actor: string): Promise<Job> {
    const job = await this.get(id);
    const running = await this.prisma.jobRun.findMany({ where: { jobId: id, status: 'RUNNING' } });
    for (const run of running) await this.cancel(run.id, actor).catch(() => undefined);
    await this.prisma.job.delete({ where: { id } });
    return job;
  }

  // --- runs -------------------------------------------------------------------------------

  /** Starts a manual run and answers at once; output follows on jobRunOutput. */
  async run(jobId: string, triggeredBy: string): Promise<JobRun> {
    const job = await this.get(jobId);
    const place = await this.runningPlace(job.service);
    const run = await this.claim(job, { trigger: 'MANUAL', triggeredBy, scheduledFor: null }, 'refuse');
    this.runner.launch(run!, job, place);
    return run!;
  }

  /**
   * Runs the job for a schedule slot, once across every API instance: the slot is unique
   * per job, so only one instance can record it. Answers null when another one did. A slot
   * that can't run is recorded too: FAILED when the service isn't running, MISSED when the
   * previous run is still going.
   */
  async runScheduled(job: JobWithPlace, slot: Date): Promise<JobRun | null> {
    const base = { trigger: 'SCHEDULE' as const, triggeredBy: SCHEDULE_TRIGGER, scheduledFor: slot };
    let place: RunPlace;
    try {
      place = await this.runningPlace(job.service);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return this.claim(job, { ...base, status: 'FAILED', error: message, finishedAt: new Date() }, 'ignore');
    }
    const run = await this.claim(job, base, 'record-missed');
    if (run?.status === 'RUNNING') this.runner.launch(run, job, place);
    return run;
  }

  /** Records a slot that passed without running (the scheduler was down). */
  recordMissed(job: Job, slot: Date, error: string): Promise<JobRun | null> {
    return this.claim(
      job,
      { trigger: 'SCHEDULE', triggeredBy: SCHEDULE_TRIGGER, scheduledFor: slot, status: 'MISSED', error, startedAt: slot, finishedAt: slot },
      'ignore',
    );
  }

  /**
   * Creates the run record under a lock on the job row, so two requests (or instances)
   * can't both pass the overlap check. Null when the slot was already recorded.
   */
  private async claim(
    job: Job,
    data: {
      trigger: 'MANUAL' | 'SCHEDULE';
      triggeredBy: string;
      scheduledFor: Date | null;
      status?: JobRunStatus;
      error?: string;
      startedAt?: Date;
      finishedAt?: Date;
    },
    overlap: 'refuse' | 'record-missed' | 'ignore',
  ): Promise<JobRun | null> {
    try {
      return await this.prisma.$transaction(async (tx) => {
        const locked = await tx.$queryRaw<{ allowOverlap: boolean }[]>`SELECT "allowOverlap" FROM "Job" WHERE id = ${job.id} FOR UPDATE`;
        if (!locked.length) throw new NotFoundError('Job', job.id);
        if (overlap !== 'ignore' && !locked[0].allowOverlap) {
          const running = await tx.jobRun.findFirst({ where: { jobId: job.id, status: 'RUNNING' }, select: { id: true } });
          if (running && overlap === 'refuse') throw new JobAlreadyRunningError(job.name, running.id);
          if (running) {
            return tx.jobRun.create({
              data: {
                ...data,
                jobId: job.id,
                status: 'MISSED',
                error: `skipped: the previous run (${running.id}) was still running`,
                finishedAt: new Date(),
              },
            });
          }
        }
        return tx.jobRun.create({ data: { ...data, jobId: job.id } });
      });
    } catch (error) {
      if (data.scheduledFor && isUniqueViolation(error)) return null;
      throw error;
    }
  }

  /** Cancels a running run: recorded at once, its processes stopped in the container. */
  async cancel(runId: string, actor: string): Promise<JobRun> {
    const run = await this.getRun(runId);
    const { count } = await this.prisma.jobRun.updateMany({
      where: { id: runId, status: 'RUNNING' },
      data: { status: 'CANCELLED', finishedAt: new Date(), error: `cancelled by ${actor}` },
    });
    if (!count) throw new ConflictError(`job run ${runId} is not running (status ${(await this.getRun(runId)).status})`);
    await this.runner.stop(run, await this.placeOf(run).catch(() => null));
    return this.getRun(runId);
  }

  /** The run's output from its start, then live, ending with its outcome. */
  async output(runId: string): Promise<AsyncIterableIterator<JobRunOutputEvent>> {
    await this.getRun(runId);
    return replayJobRunOutput(this.prisma, this.events, runId);
  }

  /** Where a run's processes are: its service's container, null when it has none. */
  async placeOf(run: JobRun): Promise<RunPlace | null> {
    const job = await this.prisma.job.findUnique({ where: { id: run.jobId }, include: withPlace });
    if (!job?.service.containerId) return null;
    return { engine: this.engineFor(job.service.deployment.node.endpoint), containerId: job.service.containerId };
  }

  private async runningPlace(service: ServiceWithPlace): Promise<RunPlace> {
    const engine = this.engineFor(service.deployment.node.endpoint);
    const info = service.containerId ? await engine.inspectContainer(service.containerId) : null;
    if (!info || !info.State.Running || info.State.Paused || info.State.Restarting) {
      throw new ServiceNotRunningError(service.id, service.name, info ? info.State.Status : service.status);
    }
    return { engine, containerId: info.Id };
  }

  shutdown(): Promise<void> {
    return this.runner.shutdown();
  }
}
