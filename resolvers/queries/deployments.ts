import { prisma } from '../../prisma/client.ts';
import { builder } from '../../schema/builder.ts';

builder.queryField('deployments', (t) =>
  t.prismaField({
    type: ['Deployment'],
    authScopes: { read: true },
    resolve: (query) => prisma().deployment.findMany({ ...query, orderBy: { name: 'asc' } }),
  }),
);
