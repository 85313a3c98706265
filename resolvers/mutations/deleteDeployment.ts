import { builder } from '../../schema/builder.ts';
import { writeErrors } from '../../schema/types/Error.ts';

builder.mutationField('deleteDeployment', (t) =>
  t.id({
    description: 'Removes the deployment and its services; answers the deleted id.',
    authScopes: { deploy: true },
    errors: { types: writeErrors },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => (await ctx.services.deployments.delete(String(id))).id,
  }),
);
