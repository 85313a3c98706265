import { builder } from '../../schema/builder.ts';
import { DockerError } from '../../services/docker/errors.ts';
import { ConflictError, NotFoundError } from '../../services/errors.ts';
import { JobRunRef } from '../../schema/types/Job.ts';

builder.mutationField('cancelJobRun', (t) =>
  t.field({
    type: JobRunRef,
    description: 'Cancels a running run: recorded CANCELLED at once, its processes stopped in the container.',
    authScopes: { deploy: true },
    errors: { types: [NotFoundError, ConflictError, DockerError] },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => ctx.services.jobs.cancel(String(id), ctx.principal!.name),
  }),
);
