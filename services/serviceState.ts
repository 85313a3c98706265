// The service state machine. Every transition is persisted (with its reason) in one
// transaction, then published.
import type { PrismaClient } from '../prisma/db.ts';
import type { ServiceStatus } from '../prisma/generated/client/enums.ts';
import type { EventBus, ServiceStateEvent } from './events.ts';

const BUSY: ServiceStatus[] = ['PULLING', 'RUNNING_HOOK', 'STARTING', 'STOPPING'];

// Which states each state may move to. ERROR is reachable from anywhere (a step failed);
// RUNNING, STOPPED and CRASHED are also what Docker itself reports for a container.
const ALLOWED: Record<ServiceStatus, ServiceStatus[]> = {
  CREATED: ['PULLING', 'STARTING'],
  PULLING: ['RUNNING_HOOK', 'STARTING', 'RUNNING', 'STOPPED', 'CRASHED'],
  RUNNING_HOOK: ['STARTING', 'RUNNING', 'STOPPED', 'CRASHED'],
  STARTING: ['RUNNING', 'CRASHED', 'STOPPED'],
  RUNNING: ['PULLING', 'STARTING', 'STOPPING', 'STOPPED', 'CRASHED'],
  STOPPING: ['STOPPED', 'CRASHED', 'RUNNING'],
  STOPPED: ['PULLING', 'STARTING', 'RUNNING', 'STOPPING'],
  CRASHED: ['PULLING', 'STARTING', 'RUNNING', 'STOPPING', 'STOPPED'],
  ERROR: ['PULLING', 'STARTING', 'RUNNING', 'STOPPING', 'STOPPED', 'CRASHED'],
};

export function canTransition(from: ServiceStatus, to: ServiceStatus): boolean {
  return to === 'ERROR' || ALLOWED[from].includes(to);
}

export function isBusy(status: ServiceStatus): boolean {
  return BUSY.includes(status);
}

export interface TransitionOptions {
  reason: string;
  deployRunId?: string | null;
  exitCode?: number | null;
}

export class ServiceStateMachine {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly events: EventBus,
  ) {}

  /**
   * Moves the service to `to` if the machine allows it from its current state;
   * returns the transition, or null when it was not allowed (or already there).
   */
  async transition(serviceId: string, to: ServiceStatus, options: TransitionOptions): Promise<ServiceStateEvent | null> {
    const event = await this.prisma.$transaction(async (tx) => {
      const service = await tx.service.findUnique({ where: { id: serviceId }, select: { status: true, deploymentId: true } });
      if (!service || !canTransition(service.status, to)) return null;
      if (service.status === to && to !== 'ERROR') return null;
      const at = new Date();
      // Compare-and-set on the status, so two writers cannot both move from the same state.
      const updated = await tx.service.updateMany({
        where: { id: serviceId, status: service.status },
        data: {
          status: to,
          statusReason: options.reason,
          statusChangedAt: at,
          ...(options.exitCode != null && { lastExitCode: options.exitCode }),
        },
      });
      if (updated.count === 0) return null;
      await tx.serviceTransition.create({
        data: {
          serviceId,
          from: service.status,
          to,
          reason: options.reason,
          deployRunId: options.deployRunId ?? null,
          exitCode: options.exitCode ?? null,
          createdAt: at,
        },
      });
      return {
        serviceId,
        deploymentId: service.deploymentId,
        from: service.status,
        to,
        reason: options.reason,
        exitCode: options.exitCode ?? null,
        deployRunId: options.deployRunId ?? null,
        at,
      } satisfies ServiceStateEvent;
    });
    if (event) {
      this.events.publish('service:state', serviceId, event);
      this.events.publish('deployment:state', event.deploymentId, event);
    }
    return event;
  }
}
