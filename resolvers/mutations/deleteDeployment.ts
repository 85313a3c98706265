import { builder } from '../../schema/builder.ts';
import { runErrors } from '../../schema/types/Error.ts';

builder.mutationField('deleteDeployment', (t) =>
  t.id({
    description: 'Removes the deployment, its containers and network; answers the deleted id. Volumes stay unless asked.',
    authScopes: { deploy: true },
    errors: { types: runErrors },
    args: {
      id: t.arg.id({ required: true }),
      removeVolumes: t.arg.boolean({ defaultValue: false }),
    },
    resolve: async (_root, { id, removeVolumes }, ctx) =>
      (await ctx.services.deployer.removeDeployment(String(id), { removeVolumes: removeVolumes ?? false })).id,
  }),
);
