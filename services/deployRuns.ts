// The persisted record of a deploy run: status, steps with timings, outcome. Each
// change is written first, then published on the run's topic.
import type { PrismaClient } from '../prisma/db.ts';
import type { DeployRun, Service } from '../prisma/generated/client/client.ts';
import type { DeployRunKind, DeployRunStatus } from '../prisma/generated/client/enums.ts';
import type { EventBus } from './events.ts';
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
  constructor(
    private readonly prisma: PrismaClient,
    private readonly events: EventBus,
  ) {}

  create(input: {
    service: Service;
    kind: DeployRunKind;
    triggeredBy: string;
    snapshot?: ConfigSnapshot;
    imageDigest?: string | null;
    rollbackOfId?: string;
  }): Promise<DeployRun> {
    const snapshot = input.snapshot ?? snapshotOf(input.service);
    return this.prisma.deployRun.create({
      data: {
        serviceId: input.service.id,
        kind: input.kind,
        triggeredBy: input.triggeredBy,
        image: snapshot.image,
        imageDigest: input.imageDigest ?? null,
        configSnapshot: snapshot as object,
        rollbackOfId: input.rollbackOfId ?? null,
      },
    });
  }

  async setStatus(runId: string, status: DeployRunStatus, data: Partial<Pick<DeployRun, 'imageDigest' | 'imageId' | 'imageChanged' | 'containerId'>> = {}): Promise<void> {
    await this.prisma.deployRun.update({
      where: { id: runId },
      data: { status, ...data },
    });
  }

  async markStarted(runId: string): Promise<void> {
    await this.prisma.deployRun.update({ where: { id: runId }, data: { startedAt: new Date() } });
  }

  /** Runs `fn` as a named step: recorded as RUNNING, then SUCCEEDED or FAILED with timings. */
  async step<T>(runId: string, name: string, fn: () => Promise<T>, describe?: (result: T) => string | null): Promise<T> {
    const startedAt = new Date();
    await this.updateSteps(runId, (steps) => [...steps, { name, status: 'RUNNING', startedAt: startedAt.toISOString(), finishedAt: null, message: null }]);
    this.events.publish('deployRun:event', runId, { type: 'STEP', deployRunId: runId, step: name, status: 'STARTED', message: null, at: startedAt });
    try {
      const result = await fn();
      const message = describe?.(result) ?? null;
      await this.finishStep(runId, name, 'SUCCEEDED', message);
      return result;
    } catch (error) {
      await this.finishStep(runId, name, 'FAILED', (error as Error).message);
      throw error;
    }
  }

  private async finishStep(runId: string, name: string, status: 'SUCCEEDED' | 'FAILED', message: string | null): Promise<void> {
    const at = new Date();
    await this.updateSteps(runId, (steps) =>
      steps.map((s) => (s.name === name && s.status === 'RUNNING' ? { ...s, status, message, finishedAt: at.toISOString() } : s)),
    );
    this.events.publish('deployRun:event', runId, { type: 'STEP', deployRunId: runId, step: name, status: status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED', message, at });
  }

  private async updateSteps(runId: string, change: (steps: DeployStep[]) => DeployStep[]): Promise<void> {
    const run = await this.prisma.deployRun.findUniqueOrThrow({ where: { id: runId }, select: { steps: true } });
    await this.prisma.deployRun.update({
      where: { id: runId },
      data: { steps: change(run.steps as unknown as DeployStep[]) as object[] },
    });
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
    this.events.publish('deployRun:event', runId, {
      type: 'HOOK_EXITED',
      deployRunId: runId,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      at: new Date(),
    });
  }

  async finish(runId: string, outcome: { status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED'; error?: string; errorCode?: string }): Promise<DeployRun> {
    const run = await this.prisma.deployRun.update({
      where: { id: runId },
      data: { status: outcome.status, error: outcome.error ?? null, errorCode: outcome.errorCode ?? null, finishedAt: new Date() },
    });
    this.events.publish('deployRun:event', runId, {
      type: 'FINISHED',
      deployRunId: runId,
      status: outcome.status,
      error: outcome.error ?? null,
      at: run.finishedAt!,
    });
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
