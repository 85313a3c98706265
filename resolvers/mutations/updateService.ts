import { builder } from '../../schema/builder.ts';
import { writeErrors } from '../../schema/types/Error.ts';
import { ServiceRef, UpdateServiceInput } from '../../schema/types/Service.ts';

builder.mutationField('updateService', (t) =>
  t.field({
    type: ServiceRef,
    authScopes: { deploy: true },
    errors: { types: writeErrors },
    args: { input: t.arg({ type: UpdateServiceInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.services.serviceConfigs.update({ ...input, id: String(input.id) }),
  }),
);
