import { builder } from '../../schema/builder.ts';
import { runErrors } from '../../schema/types/Error.ts';

builder.mutationField('deleteService', (t) =>
  t.id({
    description: 'Removes the service and its containers; answers the deleted id. Volumes stay unless asked.',
    authScopes: { deploy: true },
    errors: { types: runErrors },
    args: {
      id: t.arg.id({ required: true }),
      removeVolumes: t.arg.boolean({ defaultValue: false, description: 'also remove its volumes that no other service mounts' }),
    },
    resolve: async (_root, { id, removeVolumes }, ctx) =>
      (await ctx.services.deployer.removeService(String(id), { removeVolumes: removeVolumes ?? false })).id,
  }),
);
