// Keeps service states true to Docker: container events (die, oom, start, health)
// feed the state machine, and a resync reads every container back after the API or
// the engine restarted. While a deploy, start or stop holds a service's lock, that
// run owns the state and events for the service are left to it.
import type { PrismaClient } from '../prisma/db.ts';
import type { ServiceStatus } from '../prisma/generated/client/enums.ts';
import type { DockerEngine } from './docker/engine.ts';
import type { ContainerEvent } from './docker/eventWatcher.ts';
import { LABELS } from './docker/names.ts';
import type { Logger } from './logger.ts';
import type { ServiceStateMachine } from './serviceState.ts';

export class StateSync {
  private readonly oomKilled = new Set<string>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly state: ServiceStateMachine,
    private readonly engineFor: (endpoint: string) => DockerEngine,
    private readonly logger: Logger,
  ) {}

  async onContainerEvent(event: ContainerEvent): Promise<void> {
    if (event.attributes[LABELS.role] !== 'service') return;
    const serviceId = event.attributes[LABELS.service];
    if (!serviceId) return;
    if (event.action === 'oom') {
      this.oomKilled.add(event.containerId);
      return;
    }
    const service = await this.prisma.service.findUnique({
      where: { id: serviceId },
      select: { containerId: true, activeRunId: true, status: true },
    });
    if (!service || service.containerId !== event.containerId || service.activeRunId) return;

    if (event.action === 'die') {
      const exitCode = Number(event.attributes.exitCode ?? NaN);
      const oom = this.oomKilled.delete(event.containerId);
      const reason = oom
        ? `killed for running out of memory (OOM), exit code ${exitCode}`
        : exitCode === 0
          ? 'the container exited on its own with code 0'
          : `the container exited with code ${exitCode}`;
      await this.state.transition(serviceId, exitCode === 0 && !oom ? 'STOPPED' : 'CRASHED', {
        reason,
        exitCode: Number.isNaN(exitCode) ? null : exitCode,
      });
    } else if (event.action === 'start') {
      await this.state.transition(serviceId, 'RUNNING', { reason: 'the container started' });
    } else if (event.action.startsWith('health_status')) {
      const health = event.action.split(':')[1]?.trim() ?? 'unknown';
      await this.prisma.service.updateMany({
        where: { id: serviceId, status: 'RUNNING' },
        data: { statusReason: `health check: ${health}` },
      });
    }
  }

  /** Reads every deployed service's container back from its engine and corrects the state. */
  async resync(): Promise<void> {
    const services = await this.prisma.service.findMany({
      where: { containerId: { not: null }, activeRunId: null },
      include: { deployment: { select: { node: { select: { endpoint: true } } } } },
    });
    for (const service of services) {
      const info = await this.engineFor(service.deployment.node.endpoint)
        .inspectContainer(service.containerId!)
        .catch(() => undefined);
      if (info === undefined) continue; // engine unreachable: nothing to learn
      let status: ServiceStatus;
      if (!info) status = 'ERROR';
      else if (info.State.Running) status = 'RUNNING';
      else if (info.State.OOMKilled || info.State.ExitCode !== 0) status = 'CRASHED';
      else status = 'STOPPED';
      if (status === service.status) continue;
      const reason = !info
        ? 'the container is gone'
        : info.State.Running
          ? 'found running'
          : info.State.OOMKilled
            ? `found killed for running out of memory (OOM), exit code ${info.State.ExitCode}`
            : `found exited with code ${info.State.ExitCode}`;
      await this.state.transition(service.id, status, { reason, exitCode: info && !info.State.Running ? info.State.ExitCode : null });
      this.logger.info({ serviceId: service.id, status, reason }, 'service state resynced from Docker');
    }
  }
}
