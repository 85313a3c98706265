import { builder } from '../../schema/builder.ts';
import { ServiceRef } from '../../schema/types/Service.ts';
import { NotFoundError } from '../../services/errors.ts';

builder.mutationField('removeCustomDomain', (t) =>
  t.field({
    type: ServiceRef,
    description: 'Removes the service\'s custom domain: the edge stops routing it at once and its certificate is no longer renewed.',
    authScopes: { deploy: true },
    errors: { types: [NotFoundError] },
    args: { serviceId: t.arg.id({ required: true }) },
    resolve: (_root, { serviceId }, ctx) => ctx.services.domains.remove(String(serviceId)),
  }),
);
