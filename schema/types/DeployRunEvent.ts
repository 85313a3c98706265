import type { DeployRunEvent } from '../../services/events.ts';
import { builder } from '../builder.ts';

const DeployRunEventType = builder.enumType('DeployRunEventType', {
  values: ['STEP', 'PULL_PROGRESS', 'HOOK_OUTPUT', 'HOOK_EXITED', 'FINISHED'] as const,
});

export const DeployRunEventRef = builder.objectRef<DeployRunEvent>('DeployRunEvent').implement({
  description: 'One event of a deploy run; which fields are set depends on type.',
  fields: (t) => ({
    deployRunId: t.exposeID('deployRunId'),
    seq: t.exposeInt('seq', { description: '1, 2, 3… in the order they happened' }),
    type: t.expose('type', { type: DeployRunEventType }),
    at: t.expose('at', { type: 'DateTime' }),
    step: t.string({ nullable: true, resolve: (e) => e.step ?? null }),
    status: t.string({ nullable: true, resolve: (e) => e.status ?? null }),
    message: t.string({ nullable: true, resolve: (e) => e.message ?? null }),
    stream: t.string({ nullable: true, description: 'stdout or stderr', resolve: (e) => e.stream ?? null }),
    line: t.string({ nullable: true, resolve: (e) => e.line ?? null }),
    exitCode: t.int({ nullable: true, resolve: (e) => e.exitCode ?? null }),
    timedOut: t.boolean({ nullable: true, resolve: (e) => e.timedOut ?? null }),
    error: t.string({ nullable: true, resolve: (e) => e.error ?? null }),
  }),
});
