import { builder } from '../../schema/builder.ts';
import { writeErrors } from '../../schema/types/Error.ts';
import { JobRef, UpdateJobInput } from '../../schema/types/Job.ts';

builder.mutationField('updateJob', (t) =>
  t.field({
    type: JobRef,
    authScopes: { deploy: true },
    errors: { types: writeErrors },
    args: { input: t.arg({ type: UpdateJobInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.services.jobs.update({ ...input, id: String(input.id) }),
  }),
);
