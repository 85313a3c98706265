import { builder } from '../../schema/builder.ts';
import { runErrors } from '../../schema/types/Error.ts';
import { ServiceRef } from '../../schema/types/Service.ts';

builder.mutationField('stopService', (t) =>
  t.field({
    type: ServiceRef,
    authScopes: { deploy: true },
    errors: { types: runErrors },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => ctx.services.deployer.stop(String(id)),
  }),
);
