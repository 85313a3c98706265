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

export type DeployRunEvent =
  | { type: 'STEP'; deployRunId: string; step: string; status: 'STARTED' | 'SUCCEEDED' | 'FAILED'; message: string | null; at: Date }
  | { type: 'PULL_PROGRESS'; deployRunId: string; message: string; at: Date }
  | { type: 'HOOK_OUTPUT'; deployRunId: string; stream: 'stdout' | 'stderr'; line: string; at: Date }
  | { type: 'HOOK_EXITED'; deployRunId: string; exitCode: number | null; timedOut: boolean; at: Date }
  | { type: 'FINISHED'; deployRunId: string; status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED'; error: string | null; at: Date };

export type Topics = {
  'service:state': [serviceId: string, event: ServiceStateEvent];
  'deployment:state': [deploymentId: string, event: ServiceStateEvent];
  'deployRun:event': [deployRunId: string, event: DeployRunEvent];
};

export type EventBus = PubSub<Topics>;

export function createEventBus(eventTarget?: Parameters<typeof createPubSub>[0] extends infer O ? O extends { eventTarget?: infer T } ? T : never : never): EventBus {
  return createPubSub<Topics>(eventTarget ? { eventTarget } : undefined);
}
