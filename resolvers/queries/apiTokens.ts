import { prisma } from '../../prisma/client.ts';
import { builder } from '../../schema/builder.ts';

builder.queryField('apiTokens', (t) =>
  t.prismaField({
    type: ['ApiToken'],
    authScopes: { admin: true },
    resolve: (query) => prisma().apiToken.findMany({ ...query, orderBy: { createdAt: 'asc' } }),
  }),
);
