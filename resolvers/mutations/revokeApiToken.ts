import { builder } from '../../schema/builder.ts';
import { ApiTokenRef } from '../../schema/types/ApiToken.ts';
import { writeErrors } from '../../schema/types/Error.ts';

builder.mutationField('revokeApiToken', (t) =>
  t.field({
    type: ApiTokenRef,
    authScopes: { admin: true },
    errors: { types: writeErrors },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => ctx.services.auth.revokeToken(String(id)),
  }),
);
