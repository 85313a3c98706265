import { prisma } from '../../prisma/client.ts';
import { builder } from '../../schema/builder.ts';

builder.queryField('nodes', (t) =>
  t.prismaField({
    type: ['Node'],
    authScopes: { read: true },
    resolve: (query) => prisma().node.findMany({ ...query, orderBy: { name: 'asc' } }),
  }),
);
