import { builder } from '../../schema/builder.ts';
import { writeErrors } from '../../schema/types/Error.ts';
import { CreateServiceInput, ServiceRef } from '../../schema/types/Service.ts';

builder.mutationField('createService', (t) =>
  t.field({
    type: ServiceRef,
    authScopes: { deploy: true },
    errors: { types: writeErrors },
    args: { input: t.arg({ type: CreateServiceInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      ctx.services.serviceConfigs.create({ ...input, deploymentId: String(input.deploymentId) }),
  }),
);
