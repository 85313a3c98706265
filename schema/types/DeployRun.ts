import type { DeployStep } from '../../services/deployRuns.ts';
import { builder } from '../builder.ts';

export const DeployRunStatus = builder.enumType('DeployRunStatus', {
  values: ['PENDING', 'PULLING', 'RUNNING_HOOK', 'SWAPPING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const,
});

export const DeployRunKind = builder.enumType('DeployRunKind', {
  values: ['DEPLOY', 'START', 'ROLLBACK'] as const,
});

const DeployStepRef = builder.objectRef<DeployStep>('DeployStep').implement({
  fields: (t) => ({
    name: t.exposeString('name', { description: 'pull, hook, swap or restart' }),
    status: t.exposeString('status', { description: 'RUNNING, SUCCEEDED or FAILED' }),
    startedAt: t.field({ type: 'DateTime', resolve: (s) => new Date(s.startedAt) }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => (s.finishedAt ? new Date(s.finishedAt) : null) }),
    durationMs: t.int({
      nullable: true,
      resolve: (s) => (s.finishedAt ? new Date(s.finishedAt).getTime() - new Date(s.startedAt).getTime() : null),
    }),
    message: t.exposeString('message', { nullable: true }),
  }),
});

export const DeployRunRef = builder.prismaObject('DeployRun', {
  description: 'One Deploy, Start or Rollback of a service, with its steps and outcome.',
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.expose('kind', { type: DeployRunKind }),
    status: t.expose('status', { type: DeployRunStatus }),
    triggeredBy: t.exposeString('triggeredBy'),
    image: t.exposeString('image', { description: 'the reference as configured' }),
    imageDigest: t.exposeString('imageDigest', { nullable: true, description: 'repo@sha256:… that was pulled and run' }),
    imageId: t.exposeString('imageId', { nullable: true }),
    imageChanged: t.exposeBoolean('imageChanged', {
      nullable: true,
      description: 'whether the pull brought a different image than the last successful run (null on the first)',
    }),
    hookExitCode: t.exposeInt('hookExitCode', { nullable: true }),
    hookOutput: t.exposeString('hookOutput', { nullable: true, description: 'the last 64 KiB of the hook output' }),
    hookTimedOut: t.exposeBoolean('hookTimedOut'),
    error: t.exposeString('error', { nullable: true }),
    errorCode: t.exposeString('errorCode', { nullable: true }),
    steps: t.field({ type: [DeployStepRef], select: { steps: true }, resolve: (run) => run.steps as unknown as DeployStep[] }),
    containerId: t.exposeString('containerId', { nullable: true }),
    rollbackOfId: t.exposeID('rollbackOfId', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    service: t.relation('service'),
  }),
});

export const ServiceTransitionRef = builder.prismaObject('ServiceTransition', {
  fields: (t) => ({
    id: t.exposeID('id'),
    from: t.exposeString('from'),
    to: t.exposeString('to'),
    reason: t.exposeString('reason'),
    exitCode: t.exposeInt('exitCode', { nullable: true }),
    deployRunId: t.exposeID('deployRunId', { nullable: true }),
    at: t.expose('createdAt', { type: 'DateTime' }),
  }),
});
