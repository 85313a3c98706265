import { builder } from '../../schema/builder.ts';
import { writeErrors } from '../../schema/types/Error.ts';

builder.mutationField('deleteService', (t) =>
  t.id({
    description: 'Removes the service; answers the deleted id.',
    authScopes: { deploy: true },
    errors: { types: writeErrors },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => (await ctx.services.serviceConfigs.delete(String(id))).id,
  }),
);
