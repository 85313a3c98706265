import { builder } from '../../schema/builder.ts';
import { CustomDomainRef } from '../../schema/types/CustomDomain.ts';
import { NotFoundError } from '../../services/errors.ts';

builder.mutationField('verifyCustomDomain', (t) =>
  t.field({
    type: CustomDomainRef,
    description: 'Looks up TXT _spunto-challenge.<domain>; `status` and `message` say what was found. A match verifies the domain and orders its certificate.',
    authScopes: { deploy: true },
    errors: { types: [NotFoundError] },
    args: { serviceId: t.arg.id({ required: true }) },
    resolve: (_root, { serviceId }, ctx) => ctx.services.domains.verify(String(serviceId)),
  }),
);
