import { builder } from '../../schema/builder.ts';
import { DockerError } from '../../services/docker/errors.ts';
import { NotFoundError } from '../../services/errors.ts';
import { JobAlreadyRunningError, ServiceNotRunningError } from '../../services/jobs.ts';
import { JobRunRef } from '../../schema/types/Job.ts';

builder.mutationField('runJob', (t) =>
  t.field({
    type: JobRunRef,
    description: 'Runs the job now in the service’s running container; answers the RUNNING run at once (output on jobRunOutput).',
    authScopes: { deploy: true },
    errors: { types: [NotFoundError, ServiceNotRunningError, JobAlreadyRunningError, DockerError] },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => ctx.services.jobs.run(String(id), ctx.principal!.name),
  }),
);
