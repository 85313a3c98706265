import { builder } from '../../schema/builder.ts';
import { JobRunOutputEventRef } from '../../schema/types/Job.ts';

builder.subscriptionField('jobRunOutput', (t) =>
  t.field({
    type: JobRunOutputEventRef,
    description: 'A job run’s output from the start (what is stored first, then live), then its outcome; then the stream ends.',
    authScopes: { read: true },
    args: { jobRunId: t.arg.id({ required: true }) },
    subscribe: (_root, { jobRunId }, ctx) => ctx.services.jobs.output(String(jobRunId)),
    resolve: (event) => event,
  }),
);
