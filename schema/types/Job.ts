import { prisma } from '../../prisma/client.ts';
import { JobAlreadyRunningError, ServiceNotRunningError } from '../../services/jobs.ts';
import type { JobRunOutputEvent } from '../../services/events.ts';
import { builder } from '../builder.ts';
import { ErrorInterface } from './Error.ts';

export const JobRunStatus = builder.enumType('JobRunStatus', {
  values: ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED', 'MISSED'] as const,
});

export const JobTrigger = builder.enumType('JobTrigger', { values: ['MANUAL', 'SCHEDULE'] as const });

export const JobRef = builder.prismaObject('Job', {
  description: 'A named shell command run inside the service’s running container, on demand or on a cron schedule.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    command: t.exposeString('command', { description: 'run as `sh -c <command>` in the container' }),
    timeoutSeconds: t.exposeInt('timeoutSeconds', { nullable: true, description: 'a run still going after this is stopped (TIMED_OUT)' }),
    schedule: t.exposeString('schedule', {
      nullable: true,
      description: 'cron expression in UTC: 5 fields, or 6 with leading seconds, or @hourly, @daily…',
    }),
    allowOverlap: t.exposeBoolean('allowOverlap', { description: 'whether a run may start while another is still running' }),
    nextRunAt: t.expose('nextRunAt', { type: 'DateTime', nullable: true, description: 'the next scheduled slot' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    service: t.relation('service'),
    runs: t.relation('runs', {
      description: 'newest first',
      args: { first: t.arg.int({ defaultValue: 20 }) },
      query: ({ first }) => ({ orderBy: [{ startedAt: 'desc' }, { id: 'desc' }], take: Math.min(Math.max(first ?? 20, 1), 200) }),
    }),
  }),
});

export const JobRunRef = builder.prismaObject('JobRun', {
  description: 'One run of a job: manual or for a schedule slot, with its stored output.',
  fields: (t) => ({
    id: t.exposeID('id'),
    status: t.expose('status', { type: JobRunStatus }),
    trigger: t.expose('trigger', { type: JobTrigger }),
    triggeredBy: t.exposeString('triggeredBy', { description: 'the token name, or "schedule"' }),
    scheduledFor: t.expose('scheduledFor', { type: 'DateTime', nullable: true, description: 'the schedule slot this run is for' }),
    exitCode: t.exposeInt('exitCode', { nullable: true, description: 'from the Engine’s exec inspect, once the command stopped' }),
    output: t.exposeString('output', {
      description: 'stdout and stderr interleaved; at most 64 KiB (when longer: the first and last 32 KiB)',
    }),
    outputTruncated: t.exposeBoolean('outputTruncated'),
    error: t.exposeString('error', { nullable: true, description: 'why it did not succeed' }),
    execId: t.exposeString('execId', { nullable: true, description: 'the Docker exec that ran the command' }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    durationMs: t.int({
      nullable: true,
      select: { startedAt: true, finishedAt: true },
      resolve: (run) => (run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : null),
    }),
    job: t.relation('job'),
  }),
});

export const JobRunOutputEventRef = builder.objectRef<JobRunOutputEvent>('JobRunOutputEvent').implement({
  description: 'Output of a job run (OUTPUT), then its outcome (FINISHED), after which the stream ends.',
  fields: (t) => ({
    jobRunId: t.exposeID('jobRunId'),
    kind: t.exposeString('kind', { description: 'OUTPUT or FINISHED' }),
    offset: t.exposeInt('offset', { description: 'where data starts in the run’s whole output, in characters' }),
    data: t.exposeString('data'),
    stream: t.exposeString('stream', { nullable: true, description: 'stdout or stderr; null for stored output replayed at once' }),
    status: t.field({ type: JobRunStatus, nullable: true, resolve: (e) => e.status as typeof JobRunStatus.$inferType | null }),
    exitCode: t.exposeInt('exitCode', { nullable: true }),
  }),
});

builder.objectType(ServiceNotRunningError, {
  name: 'ServiceNotRunningError',
  description: 'The job’s service has no running container: start or deploy it first.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    serviceId: t.exposeID('serviceId'),
    status: t.exposeString('status', { description: 'what the service or its container is instead' }),
  }),
});

builder.objectType(JobAlreadyRunningError, {
  name: 'JobAlreadyRunningError',
  description: 'A run of the job is in progress and the job does not allow overlapping runs.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    jobRun: t.prismaField({
      type: 'JobRun',
      description: 'the run in progress',
      resolve: (query, error) => prisma().jobRun.findUniqueOrThrow({ ...query, where: { id: error.jobRunId } }),
    }),
  }),
});

export const CreateJobInput = builder.inputType('CreateJobInput', {
  fields: (t) => ({
    serviceId: t.id({ required: true }),
    name: t.string({ required: true, description: 'unique per service: letters, digits, "_", "." or "-"' }),
    command: t.string({ required: true, description: 'run as `sh -c <command>` in the service’s running container' }),
    timeoutSeconds: t.int({ description: 'no limit when absent' }),
    schedule: t.string({ description: 'cron expression in UTC (5 fields, or 6 with leading seconds); on demand only when absent' }),
    allowOverlap: t.boolean({ defaultValue: false }),
  }),
});

export const UpdateJobInput = builder.inputType('UpdateJobInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string(),
    command: t.string(),
    timeoutSeconds: t.int({ description: 'null removes the limit' }),
    schedule: t.string({ description: 'null makes the job on demand only' }),
    allowOverlap: t.boolean(),
  }),
});
