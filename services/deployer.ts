// Deploy, Start, Stop and Rollback of services on their node's Docker engine.
// One run at a time per service: runs queue in this process, and a compare-and-set
// lock in the database keeps a second API instance from running one at the same time.
import type { PrismaClient } from '../prisma/db.ts';
import type { DeployRun, Service } from '../prisma/generated/client/client.ts';
import type { Logger } from './logger.ts';
import { ConflictError, DeployFailedError, DomainError, NotDeployedError, NotFoundError } from './errors.ts';
import type { DockerEngine } from './docker/engine.ts';
import { labelsFor, networkName, serviceContainerName, volumeName } from './docker/names.ts';
import { ACTIVE_RUN_STATUSES, DeployRunRecorder, snapshotOf, type ConfigSnapshot } from './deployRuns.ts';
import type { EventBus } from './events.ts';
import type { ServiceConfigService } from './serviceConfigs.ts';
import type { InstanceRegistry } from './instances.ts';
import type { ServiceStateMachine } from './serviceState.ts';

export interface DeployerOptions {
  hookTimeoutMs: number;
  bindRoots: string[];
}

export interface RunRequest {
  /** who asked: a token name, or "system" */
  triggeredBy: string;
  /** resolve when the run has finished instead of when it was queued */
  wait?: boolean;
}

type ServiceWithPlace = Service & { deployment: { id: string; node: { endpoint: string } } };

export class Deployer {
  private readonly queues = new Map<string, Promise<unknown>>();
  readonly runs: DeployRunRecorder;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly engineFor: (endpoint: string) => DockerEngine,
    private readonly configs: ServiceConfigService,
    private readonly state: ServiceStateMachine,
    private readonly events: EventBus,
    private readonly options: DeployerOptions,
    private readonly logger: Logger,
    private readonly instances: InstanceRegistry,
  ) {
    this.runs = new DeployRunRecorder(prisma, events, instances.id);
  }

  private async load(serviceId: string): Promise<ServiceWithPlace> {
    const service = await this.prisma.service.findUnique({
      where: { id: serviceId },
      include: { deployment: { select: { id: true, node: { select: { endpoint: true } } } } },
    });
    if (!service) throw new NotFoundError('Service', serviceId);
    return service;
  }

  /** Force-pull, run the pre-deploy hook, swap the container. */
  async deploy(serviceId: string, request: RunRequest): Promise<DeployRun> {
    const service = await this.load(serviceId);
    const run = await this.runs.create({ service, kind: 'DEPLOY', triggeredBy: request.triggeredBy });
    return this.submit(service.id, run, request);
  }

  /** Redeploys the exact image digest and configuration of an earlier successful run. */
  async rollback(deployRunId: string, request: RunRequest): Promise<DeployRun> {
    const target = await this.prisma.deployRun.findUnique({ where: { id: deployRunId } });
    if (!target) throw new NotFoundError('DeployRun', deployRunId);
    if (target.status !== 'SUCCEEDED' || target.kind === 'START' || !(target.imageDigest ?? target.imageId)) {
      throw new ConflictError('only a successful deploy or rollback run can be rolled back to');
    }
    const service = await this.load(target.serviceId);
    const run = await this.runs.create({
      service,
      kind: 'ROLLBACK',
      triggeredBy: request.triggeredBy,
      snapshot: target.configSnapshot as unknown as ConfigSnapshot,
      imageDigest: target.imageDigest ?? target.imageId,
      rollbackOfId: target.id,
    });
    return this.submit(service.id, run, request);
  }

  /** Restarts the existing container: no pull, no hook. */
  async start(serviceId: string, request: RunRequest): Promise<DeployRun> {
    const service = await this.load(serviceId);
    if (!service.containerId || !(await this.engineFor(service.deployment.node.endpoint).inspectContainer(service.containerId))) {
      throw new NotDeployedError(`service "${service.name}" has no container yet: deploy it first`);
    }
    const run = await this.runs.create({ service, kind: 'START', triggeredBy: request.triggeredBy });
    return this.submit(service.id, run, { ...request, wait: true });
  }

  async stop(serviceId: string): Promise<Service> {
    const service = await this.load(serviceId);
    if (!service.containerId) throw new NotDeployedError(`service "${service.name}" has no container to stop`);
    await this.enqueue(serviceId, () =>
      this.withLock(serviceId, `stop:${this.instances.id}:${Date.now()}`, async () => {
        const engine = this.engineFor(service.deployment.node.endpoint);
        await this.state.transition(serviceId, 'STOPPING', { reason: 'stop requested' });
        try {
          await engine.stopContainer(service.containerId!);
        } catch (error) {
          await this.state.transition(serviceId, 'ERROR', { reason: `stop failed: ${(error as Error).message}` });
          throw error;
        }
        await this.state.transition(serviceId, 'STOPPED', { reason: 'stopped on request' });
      }),
    );
    return this.prisma.service.findUniqueOrThrow({ where: { id: serviceId } });
  }

  /**
   * Deploys every service, one after another: services others reference (${{db.KEY}})
   * first, then creation order. With `wait` it returns when all are done and stops at the
   * first failure. Without, every run is recorded now and returned PENDING, and each starts
   * once the one before it has succeeded; after a failure the rest are CANCELLED.
   */
  async deployDeployment(deploymentId: string, request: RunRequest): Promise<DeployRun[]> {
    const deployment = await this.prisma.deployment.findUnique({ where: { id: deploymentId }, select: { id: true } });
    if (!deployment) throw new NotFoundError('Deployment', deploymentId);
    const order = await this.configs.deployOrder(deploymentId);
    const runs: DeployRun[] = [];
    if (request.wait) {
      for (const id of order) runs.push(await this.deploy(id, request));
      return runs;
    }
    let previous: Promise<DeployRun | null> = Promise.resolve(null);
    for (const id of order) {
      const service = await this.load(id);
      const run = await this.runs.create({ service, kind: 'DEPLOY', triggeredBy: request.triggeredBy });
      const after = previous;
      previous = this.enqueue(id, async () => {
        // A run that could not even record its end counts as failed.
        const before = await after.catch(() => ({ status: 'FAILED' }) as const);
        if (before && before.status !== 'SUCCEEDED') {
          return this.runs.finish(run.id, {
            status: 'CANCELLED',
            error: `not started: the deploy of a service before it in this deployment ended ${before.status}`,
            errorCode: 'PREVIOUS_FAILED',
          });
        }
        return this.execute(run);
      });
      runs.push(run);
    }
    previous.catch((error) => this.logger.error({ err: error, deploymentId }, 'deployment deploy crashed'));
    return runs;
  }

  /** Removes the service's containers (and, when asked, volumes no other service mounts), then its record. */
  async removeService(serviceId: string, options: { removeVolumes: boolean }): Promise<Service> {
    const service = await this.load(serviceId);
    await this.enqueue(serviceId, () =>
      this.withLock(serviceId, `delete:${this.instances.id}:${Date.now()}`, async () => {
        const engine = this.engineFor(service.deployment.node.endpoint);
        for (const container of await engine.listOwnedContainers({ serviceId })) {
          await engine.removeContainer(container.Id, { force: true });
        }
        if (options.removeVolumes) {
          const others = await this.prisma.service.findMany({
            where: { deploymentId: service.deploymentId, id: { not: serviceId } },
            select: { volumes: true },
          });
          const shared = new Set(others.flatMap((o) => (o.volumes as { name: string }[]).map((v) => v.name)));
          for (const volume of service.volumes as { name: string }[]) {
            if (!shared.has(volume.name)) await engine.removeVolume(volumeName(service.deploymentId, volume.name));
          }
        }
        await this.prisma.service.delete({ where: { id: serviceId } });
      }),
    );
    return service;
  }

  /** Removes every container and the network of the deployment, then its record. */
  async removeDeployment(deploymentId: string, options: { removeVolumes: boolean }) {
    const deployment = await this.prisma.deployment.findUnique({ where: { id: deploymentId }, include: { node: true } });
    if (!deployment) throw new NotFoundError('Deployment', deploymentId);
    const busy = await this.prisma.service.count({ where: { deploymentId, activeRunId: { not: null } } });
    if (busy > 0) throw new ConflictError('a deploy is in progress in this deployment; try again when it has finished');
    await this.engineFor(deployment.node.endpoint).removeDeploymentObjects(deploymentId, { volumes: options.removeVolumes });
    await this.prisma.deployment.delete({ where: { id: deploymentId } });
    return deployment;
  }

  private submit(serviceId: string, run: DeployRun, request: RunRequest): Promise<DeployRun> {
    const finished = this.enqueue(serviceId, () => this.execute(run));
    if (!request.wait) {
      finished.catch((error) => this.logger.error({ err: error, deployRunId: run.id }, 'deploy run crashed'));
      return Promise.resolve(run);
    }
    return finished.then(async (done) => {
      if (done.status === 'FAILED') throw new DeployFailedError(done.error ?? 'deploy failed', done.errorCode ?? 'DEPLOY_FAILED', done.id);
      return done;
    });
  }

  /** Chains `task` after whatever this process is already doing for the service. */
  private enqueue<T>(serviceId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(serviceId) ?? Promise.resolve();
    const next = previous.then(task, task);
    const settled = next.catch(() => undefined);
    this.queues.set(serviceId, settled);
    void settled.then(() => {
      if (this.queues.get(serviceId) === settled) this.queues.delete(serviceId);
    });
    return next;
  }

  private async withLock<T>(serviceId: string, holder: string, fn: () => Promise<T>): Promise<T> {
    const taken = await this.prisma.service.updateMany({ where: { id: serviceId, activeRunId: null }, data: { activeRunId: holder } });
    if (taken.count === 0) throw new ConflictError('another API instance is deploying this service');
    try {
      return await fn();
    } finally {
      await this.prisma.service.updateMany({ where: { id: serviceId, activeRunId: holder }, data: { activeRunId: null } });
    }
  }

  private async execute(run: DeployRun): Promise<DeployRun> {
    try {
      return await this.withLock(run.serviceId, run.id, async () => {
        const service = await this.load(run.serviceId);
        if (run.kind === 'START') {
          await this.runs.markStarted(run.id, 'SWAPPING', { containerId: service.containerId });
          await this.restart(run, service);
          return this.runs.finish(run.id, { status: 'SUCCEEDED' });
        }
        await this.runs.markStarted(run.id, 'PULLING');
        const containerId = await this.swap(run, service);
        return this.runs.finish(run.id, { status: 'SUCCEEDED', containerId });
      });
    } catch (error) {
      const code = error instanceof DomainError ? error.code : 'INTERNAL';
      const message = error instanceof Error ? error.message : String(error);
      if (!(error instanceof DomainError)) this.logger.error({ err: error, deployRunId: run.id }, 'deploy run failed unexpectedly');
      await this.state.transition(run.serviceId, 'ERROR', { reason: message, deployRunId: run.id });
      return this.runs.finish(run.id, { status: 'FAILED', error: message, errorCode: code });
    }
  }

  private async restart(run: DeployRun, service: ServiceWithPlace): Promise<void> {
    const engine = this.engineFor(service.deployment.node.endpoint);
    // STARTING is recorded while Docker restarts the container; RUNNING only after both.
    const starting = this.state.transition(service.id, 'STARTING', { reason: 'start requested', deployRunId: run.id });
    try {
      await this.runs.step(run.id, 'restart', () => engine.restartContainer(service.containerId!));
    } finally {
      await starting;
    }
    await this.state.transition(service.id, 'RUNNING', { reason: 'restarted', deployRunId: run.id });
  }

  private async swap(run: DeployRun, service: ServiceWithPlace): Promise<string> {
    const engine = this.engineFor(service.deployment.node.endpoint);
    const snapshot = run.configSnapshot as unknown as ConfigSnapshot;
    const env = await this.configs.resolvedEnvVars(service, snapshot);

    // 1. Pull. A rollback pulls the exact digest it pins.
    await this.state.transition(service.id, 'PULLING', { reason: `${run.kind.toLowerCase()} started`, deployRunId: run.id });
    const reference = run.kind === 'ROLLBACK' && run.imageDigest ? run.imageDigest : snapshot.image;
    const pulled = await this.runs.step(
      run.id,
      'pull',
      () =>
        engine.pullImage(reference, (progress) => {
          // Layer milestones only, not every byte-count tick.
          if (progress.status && !progress.progressDetail?.current) {
            void this.runs
              .emit(run.id, { type: 'PULL_PROGRESS', message: progress.id ? `${progress.id}: ${progress.status}` : progress.status })
              .catch(() => undefined);
          }
        }),
      (p) => p.repoDigest ?? p.imageId,
    );
    const previous = await this.runs.lastSuccessfulDigest(service.id, run.id);
    const pinned = pulled.repoDigest ?? pulled.imageId;
    await this.runs.setStatus(run.id, 'PULLING', {
      imageDigest: pulled.repoDigest,
      imageId: pulled.imageId,
      imageChanged: previous === null ? null : previous !== pinned,
    });

    // 2. The pre-deploy hook, in mp-hook-{runId}: same image, env and network.
    if (snapshot.preDeployCommand && run.kind !== 'ROLLBACK') {
      await this.state.transition(service.id, 'RUNNING_HOOK', { reason: 'running pre-deploy hook', deployRunId: run.id });
      await this.runs.setStatus(run.id, 'RUNNING_HOOK');
      await engine.ensureNetwork(service.deploymentId);
      await this.runs.step(run.id, 'hook', async () => {
        const hook = await engine.runHook({
          id: run.id,
          image: pinned,
          env,
          networkName: networkName(service.deploymentId),
          command: snapshot.preDeployCommand!,
          timeoutMs: this.options.hookTimeoutMs,
          labels: labelsFor({ deploymentId: service.deploymentId, serviceId: service.id, role: 'hook' }),
          onOutput: (stream, line) => void this.runs.emit(run.id, { type: 'HOOK_OUTPUT', stream, line }).catch(() => undefined),
        });
        await this.runs.recordHook(run.id, hook);
        if (hook.timedOut) throw new HookError(`pre-deploy hook timed out after ${this.options.hookTimeoutMs / 1000}s`, 'HOOK_TIMEOUT');
        if (hook.exitCode !== 0) throw new HookError(`pre-deploy hook exited with code ${hook.exitCode}`, 'HOOK_FAILED');
        return hook;
      }, (hook) => `exit code ${hook.exitCode}`);
    }

    // 3. Swap: create the new container beside the old one, stop old, start new,
    //    then remove old and give the new one the canonical name.
    await this.state.transition(service.id, 'STARTING', { reason: 'starting new container', deployRunId: run.id });
    await this.runs.setStatus(run.id, 'SWAPPING');
    const canonical = serviceContainerName(service.deploymentId, service.id);
    const nextName = `${canonical}-next`;
    const containerId = await this.runs.step(run.id, 'swap', async () => {
      const promoted = await this.clearStaleNext(engine, service, canonical, nextName);
      const currentId = promoted ?? service.containerId;
      const newId = await engine.createServiceContainer({
        name: nextName,
        deploymentId: service.deploymentId,
        serviceId: service.id,
        serviceName: service.name,
        image: pinned,
        env,
        httpPort: snapshot.httpPort,
        volumes: snapshot.volumes,
        fileBinds: snapshot.fileBinds,
        command: snapshot.command,
        bindRoots: this.options.bindRoots,
        extraLabels: { 'spunto.deploy-run': run.id },
      });
      const oldId = currentId && (await engine.inspectContainer(currentId)) ? currentId : null;
      if (oldId) await engine.stopContainer(oldId);
      try {
        await engine.startContainer(newId);
      } catch (error) {
        // Put the old container back before reporting the failure.
        if (oldId) await engine.startContainer(oldId).catch(() => undefined);
        await engine.removeContainer(newId, { force: true }).catch(() => undefined);
        throw error;
      }
      if (oldId) await engine.removeContainer(oldId, { force: true });
      await engine.renameContainer(newId, canonical);
      await this.prisma.service.update({ where: { id: service.id }, data: { containerId: newId } });
      return newId;
    }, (id) => id.slice(0, 12));
    if (run.kind === 'ROLLBACK') await this.restoreConfig(service.id, snapshot);
    await this.state.transition(service.id, 'RUNNING', {
      reason: run.kind === 'ROLLBACK' ? `rolled back to ${pinned}` : `deployed ${pinned}`,
      deployRunId: run.id,
    });
    return containerId;
  }

  /** A `-next` container left by an interrupted swap: promote it if it is all there is, else remove it. */
  private async clearStaleNext(engine: DockerEngine, service: Service, canonical: string, nextName: string): Promise<string | null> {
    const next = await engine.inspectContainer(nextName);
    if (!next) return null;
    if (!(await engine.inspectContainer(canonical))) {
      await engine.renameContainer(next.Id, canonical);
      await this.prisma.service.update({ where: { id: service.id }, data: { containerId: next.Id } });
      return next.Id;
    }
    await engine.removeContainer(next.Id, { force: true });
    return null;
  }

  private async restoreConfig(serviceId: string, snapshot: ConfigSnapshot): Promise<void> {
    await this.prisma.service.update({
      where: { id: serviceId },
      data: {
        image: snapshot.image,
        envVars: snapshot.envVars as object[],
        httpPort: snapshot.httpPort,
        volumes: snapshot.volumes as object[],
        fileBinds: snapshot.fileBinds as object[],
        command: snapshot.command,
        preDeployCommand: snapshot.preDeployCommand,
      },
    });
  }

  /**
   * Work of instances that stopped heartbeating (or of this process before a restart):
   * their in-flight runs are marked failed and the service locks they held released.
   * Runs of live instances are left alone.
   */
  async recover(): Promise<void> {
    const live = await this.instances.liveIds();
    const orphaned = await this.prisma.deployRun.findMany({
      where: { status: { in: ACTIVE_RUN_STATUSES }, OR: [{ instanceId: null }, { instanceId: { notIn: [...live] } }] },
      select: { id: true },
    });
    for (const run of orphaned) {
      await this.runs.finish(run.id, { status: 'FAILED', error: 'interrupted: the API instance running it stopped', errorCode: 'INTERRUPTED' });
    }
    const locked = await this.prisma.service.findMany({ where: { activeRunId: { not: null } }, select: { id: true, activeRunId: true } });
    for (const { id, activeRunId } of locked) {
      const holder = activeRunId!;
      const op = /^(?:stop|delete):(.+):\d+$/.exec(holder);
      const stale = op
        ? !live.has(op[1])
        : !(await this.prisma.deployRun.count({ where: { id: holder, status: { in: ACTIVE_RUN_STATUSES } } }));
      if (stale) await this.prisma.service.updateMany({ where: { id, activeRunId: holder }, data: { activeRunId: null } });
    }
  }


}

class HookError extends DomainError {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export { snapshotOf };
