// Typed pub/sub topics, published after the database commit. In-memory by default;
// the composition root swaps in a Redis event target when REDIS_URL is set.
import { createPubSub, type PubSub } from '@graphql-yoga/subscription';
import type { ServiceStatus } from '../prisma/generated/client/enums.ts';

export interface ServiceStateEvent {
  serviceId: string;
  deploymentId: string;
  from: ServiceStatus;
  to: ServiceStatus;
  reason: string;
  exitCode: number | null;
  deployRunId: string | null;
  at: Date;
}

export type DeployRunEventType = 'STEP' | 'PULL_PROGRESS' | 'HOOK_OUTPUT' | 'HOOK_EXITED' | 'FINISHED';

/** One numbered event of a deploy run; `seq` orders them and lets a late subscriber resume. */
export interface DeployRunEvent {
  deployRunId: string;
  seq: number;
  type: DeployRunEventType;
  at: Date;
  /** STEP: pull, hook, swap or restart */
  step?: string | null;
  /** STEP: STARTED, SUCCEEDED or FAILED; FINISHED: the run's final status */
  status?: string | null;
  message?: string | null;
  stream?: 'stdout' | 'stderr' | null;
  line?: string | null;
  exitCode?: number | null;
  timedOut?: boolean | null;
  error?: string | null;
}

export type DeployRunEventInput = Omit<DeployRunEvent, 'deployRunId' | 'seq' | 'at'>;

/**
 * Output of a job run, persisted before it is published. `offset` is where `data` starts
 * in the run's whole output (in characters), so a late subscriber that replays the stored
 * output first can drop what it already has. Plain values only: it may cross Redis.
 */
export interface JobRunOutputEvent {
  jobRunId: string;
  kind: 'OUTPUT' | 'FINISHED';
  offset: number;
  data: string;
  stream: 'stdout' | 'stderr' | null;
  /** FINISHED: the run's final status and exit code */
  status: string | null;
  exitCode: number | null;
}

export type Topics = {
  'service:state': [serviceId: string, event: ServiceStateEvent];
  'deployment:state': [deploymentId: string, event: ServiceStateEvent];
  'deployRun:event': [deployRunId: string, event: DeployRunEvent];
  'jobRun:output': [jobRunId: string, event: JobRunOutputEvent];
};

export type EventBus = PubSub<Topics>;

export function createEventBus(eventTarget?: Parameters<typeof createPubSub>[0] extends infer O ? O extends { eventTarget?: infer T } ? T : never : never): EventBus {
  return createPubSub<Topics>(eventTarget ? { eventTarget } : undefined);
}
