// The service state machine. Every transition is persisted (with its reason) in one
// statement, then published.
import { randomUUID } from 'node:crypto';
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

const STATUSES = Object.keys(ALLOWED) as ServiceStatus[];

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
    // One statement: lock the row, move it only from a state the machine allows, and
    // record the transition; nothing happens when the service is in no such state.
    const from = STATUSES.filter((s) => canTransition(s, to) && (s !== to || to === 'ERROR'));
    const at = new Date();
    const rows = await this.prisma.$queryRawUnsafe<{ from: ServiceStatus; deploymentId: string }[]>(
      `WITH prev AS (
         SELECT id, status, "deploymentId" FROM "Service" WHERE id = $1 FOR UPDATE
       ), moved AS (
         UPDATE "Service" s
            SET status = $2::"ServiceStatus", "statusReason" = $3, "statusChangedAt" = $4,
                "lastExitCode" = COALESCE($5, s."lastExitCode")
           FROM prev
          WHERE s.id = prev.id AND prev.status::text = ANY(string_to_array($6, ','))
         RETURNING prev.status AS "from", prev."deploymentId" AS "deploymentId"
       ), recorded AS (
         INSERT INTO "ServiceTransition" (id, "serviceId", "from", "to", reason, "deployRunId", "exitCode", "createdAt")
         SELECT $7, $1, moved."from", $2::"ServiceStatus", $3, $8, $5, $4 FROM moved
       )
       SELECT "from", "deploymentId" FROM moved`,
      serviceId,
      to,
      options.reason,
      at,
      options.exitCode ?? null,
      from.join(','),
      randomUUID(),
      options.deployRunId ?? null,
    );
    if (rows.length === 0) return null;
    const event: ServiceStateEvent = {
      serviceId,
      deploymentId: rows[0].deploymentId,
      from: rows[0].from,
      to,
      reason: options.reason,
      exitCode: options.exitCode ?? null,
      deployRunId: options.deployRunId ?? null,
      at,
    };
    this.events.publish('service:state', serviceId, event);
    this.events.publish('deployment:state', event.deploymentId, event);
    return event;
  }
}
