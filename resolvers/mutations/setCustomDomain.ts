import { builder } from '../../schema/builder.ts';
import { CustomDomainRef } from '../../schema/types/CustomDomain.ts';
import { writeErrors } from '../../schema/types/Error.ts';

builder.mutationField('setCustomDomain', (t) =>
  t.field({
    type: CustomDomainRef,
    description: 'Sets (or replaces) the service\'s custom domain and issues a verification token; the same domain again keeps its state.',
    authScopes: { deploy: true },
    errors: { types: writeErrors },
    args: {
      serviceId: t.arg.id({ required: true }),
      domain: t.arg.string({ required: true, description: 'e.g. app.example.com; international names are accepted' }),
    },
    resolve: (_root, { serviceId, domain }, ctx) => ctx.services.domains.set(String(serviceId), domain),
  }),
);
