import { builder } from '../../schema/builder.ts';
import { writeErrors } from '../../schema/types/Error.ts';
import { CreateJobInput, JobRef } from '../../schema/types/Job.ts';

builder.mutationField('createJob', (t) =>
  t.field({
    type: JobRef,
    authScopes: { deploy: true },
    errors: { types: writeErrors },
    args: { input: t.arg({ type: CreateJobInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.services.jobs.create({ ...input, serviceId: String(input.serviceId) }),
  }),
);
