import { builder } from '../../schema/builder.ts';
import { CreateApiTokenInput, CreatedApiToken } from '../../schema/types/ApiToken.ts';
import { writeErrors } from '../../schema/types/Error.ts';

builder.mutationField('createApiToken', (t) =>
  t.field({
    type: CreatedApiToken,
    authScopes: { admin: true },
    errors: { types: writeErrors },
    args: { input: t.arg({ type: CreateApiTokenInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const { token, record } = await ctx.services.auth.createToken(ctx.principal, input);
      return { token, apiTokenId: record.id };
    },
  }),
);
