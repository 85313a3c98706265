import { builder } from '../../schema/builder.ts';
import { writeErrors } from '../../schema/types/Error.ts';

builder.mutationField('deleteJob', (t) =>
  t.id({
    description: 'Stops the job’s running runs and removes it with its run history; answers the deleted id.',
    authScopes: { deploy: true },
    errors: { types: writeErrors },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => (await ctx.services.jobs.delete(String(id), ctx.principal!.name)).id,
  }),
);
