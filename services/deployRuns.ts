// The persisted record of a deploy run: status, steps with timings, outcome. Each
// change is written first, then published on the run's topic.
import type { PrismaClient } from '../prisma/db.ts';
import type { DeployRun, Service } from '../prisma/generated/client/client.ts';
import type { DeployRunKind, DeployRunStatus } from '../prisma/generated/client/enums.ts';
import type { DeployRunEventInput, EventBus } from './events.ts';
import type { EnvVar, FileBind, VolumeMount } from './serviceConfigs.ts';

export interface ConfigSnapshot {
  image: string;
  /** sealed values, as stored on the service */
  envVars: EnvVar[];
  httpPort: number | null;
  volumes: VolumeMount[];
  fileBinds: FileBind[];
  command: string | null;
  preDeployCommand: string | null;
}

export interface DeployStep {
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  startedAt: string;
  finishedAt: string | null;
  message: string | null;
}

export const ACTIVE_RUN_STATUSES: DeployRunStatus[] = ['PENDING', 'PULLING', 'RUNNING_HOOK', 'SWAPPING'];
const OUTPUT_LIMIT = 64 * 1024;

export function snapshotOf(service: Service): ConfigSnapshot {
  return {
    image: service.image,
    envVars: service.envVars as unknown as EnvVar[],
    httpPort: service.httpPort,
    volumes: service.volumes as unknown as VolumeMount[],
    fileBinds: service.fileBinds as unknown as FileBind[],
    command: service.command,
    preDeployCommand: service.preDeployCommand,
  };
}

export class DeployRunRecorder {
  // Events of one run are written in order, one after another, each numbered.
  private readonly chains = new Map<string, Promise<void>>();
  private readonly seqs = new Map<string, number>();
  private readonly stepsOf = new Map<string, DeployStep[]>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly events: EventBus,
    /** the API instance that will execute the runs it creates */
    private readonly instanceId: string,
  ) {}

  /** Stores the event under the run's next number, then publishes it. */
  emit(runId: string, event: DeployRunEventInput): Promise<void> {
    const write = async () => {
      let seq = this.seqs.get(runId);
      if (seq === undefined) {
        const last = await this.prisma.deployRunEvent.findFirst({
          where: { deployRunId: runId },
          orderBy: { seq: 'desc' },
          select: { seq: true },
        });
        seq = last?.seq ?? 0;
      }
      seq += 1;
      this.seqs.set(runId, seq);
      const at = new Date();
      await this.prisma.deployRunEvent.create({
        data: { deployRunId: runId, seq, payload: { ...event, at: at.toISOString() } as object },
      });
      this.events.publish('deployRun:event', runId, { ...event, deployRunId: runId, seq, at });
    };
    const next = (this.chains.get(runId) ?? Promise.resolve()).then(write, write);
    this.chains.set(runId, next.catch(() => undefined));
    return next;
  }

  async create(input: {
    service: Service;
    kind: DeployRunKind;
    triggeredBy: string;
    snapshot?: ConfigSnapshot;
    imageDigest?: string | null;
    rollbackOfId?: string;
  }): Promise<DeployRun> {
    const snapshot = input.snapshot ?? snapshotOf(input.service);
    const run = await this.prisma.deployRun.create({
      data: {
        serviceId: input.service.id,
        kind: input.kind,
        triggeredBy: input.triggeredBy,
        image: snapshot.image,
        imageDigest: input.imageDigest ?? null,
        configSnapshot: snapshot as object,
        rollbackOfId: input.rollbackOfId ?? null,
        instanceId: this.instanceId,
      },
    });
    // A new run has no events and no steps yet: nothing to read back before the first write.
    this.seqs.set(run.id, 0);
    this.stepsOf.set(run.id, []);
    return run;
  }

  async setStatus(runId: string, status: DeployRunStatus, data: Partial<Pick<DeployRun, 'imageDigest' | 'imageId' | 'imageChanged' | 'containerId'>> = {}): Promise<void> {
    await this.prisma.deployRun.update({
      where: { id: runId },
      data: { status, ...data },
    });
  }

  async markStarted(runId: string, status?: DeployRunStatus, data: Partial<Pick<DeployRun, 'containerId'>> = {}): Promise<void> {
    await this.prisma.deployRun.update({ where: { id: runId }, data: { startedAt: new Date(), ...(status && { status }), ...data } });
  }

  /** Runs `fn` as a named step: recorded as RUNNING, then SUCCEEDED or FAILED with timings. */
  async step<T>(runId: string, name: string, fn: () => Promise<T>, describe?: (result: T) => string | null): Promise<T> {
    const startedAt = new Date();
    // The step's start is written while the step runs (Docker calls wait on I/O anyway);
    // its end is written after both. Events keep their order through the run's chain.
    const recorded = this.updateSteps(runId, (steps) => [...steps, { name, status: 'RUNNING', startedAt: startedAt.toISOString(), finishedAt: null, message: null }]);
    void this.emit(runId, { type: 'STEP', step: name, status: 'STARTED' }).catch(() => undefined);
    try {
      const result = await fn().finally(() => recorded);
      const message = describe?.(result) ?? null;
      await this.finishStep(runId, name, 'SUCCEEDED', message);
      return result;
    } catch (error) {
      await recorded.catch(() => undefined);
      await this.finishStep(runId, name, 'FAILED', (error as Error).message);
      throw error;
    }
  }

  private async finishStep(runId: string, name: string, status: 'SUCCEEDED' | 'FAILED', message: string | null): Promise<void> {
    const at = new Date();
    await this.updateSteps(runId, (steps) =>
      steps.map((s) => (s.name === name && s.status === 'RUNNING' ? { ...s, status, message, finishedAt: at.toISOString() } : s)),
    );
    void this.emit(runId, { type: 'STEP', step: name, status, message }).catch(() => undefined);
  }

  private async updateSteps(runId: string, change: (steps: DeployStep[]) => DeployStep[]): Promise<void> {
    let steps = this.stepsOf.get(runId);
    if (!steps) {
      const run = await this.prisma.deployRun.findUniqueOrThrow({ where: { id: runId }, select: { steps: true } });
      steps = run.steps as unknown as DeployStep[];
    }
    const next = change(steps);
    await this.prisma.deployRun.update({ where: { id: runId }, data: { steps: next as object[] } });
    this.stepsOf.set(runId, next);
  }

  async recordHook(runId: string, result: { exitCode: number | null; output: string; timedOut: boolean }): Promise<void> {
    await this.prisma.deployRun.update({
      where: { id: runId },
      data: {
        hookExitCode: result.exitCode,
        hookOutput: result.output.length > OUTPUT_LIMIT ? result.output.slice(-OUTPUT_LIMIT) : result.output,
        hookTimedOut: result.timedOut,
      },
    });
    await this.emit(runId, { type: 'HOOK_EXITED', exitCode: result.exitCode, timedOut: result.timedOut });
  }

  async finish(runId: string, outcome: { status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED'; error?: string; errorCode?: string; containerId?: string }): Promise<DeployRun> {
    const run = await this.prisma.deployRun.update({
      where: { id: runId },
      data: {
        status: outcome.status,
        error: outcome.error ?? null,
        errorCode: outcome.errorCode ?? null,
        finishedAt: new Date(),
        ...(outcome.containerId && { containerId: outcome.containerId }),
      },
    });
    this.stepsOf.delete(runId);
    await this.emit(runId, { type: 'FINISHED', status: outcome.status, error: outcome.error ?? null });
    this.chains.delete(runId);
    this.seqs.delete(runId);
    return run;
  }

  /** The digest the last successful run deployed, to tell whether a pull brought a new image. */
  async lastSuccessfulDigest(serviceId: string, exceptRunId: string): Promise<string | null> {
    const run = await this.prisma.deployRun.findFirst({
      where: { serviceId, status: 'SUCCEEDED', kind: { in: ['DEPLOY', 'ROLLBACK'] }, id: { not: exceptRunId } },
      orderBy: { createdAt: 'desc' },
      select: { imageDigest: true, imageId: true },
    });
    return run ? (run.imageDigest ?? run.imageId) : null;
  }
}
