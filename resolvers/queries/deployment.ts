import { prisma } from '../../prisma/client.ts';
import { builder } from '../../schema/builder.ts';

builder.queryField('deployment', (t) =>
  t.prismaField({
    type: 'Deployment',
    nullable: true,
    authScopes: { read: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, { id }) => prisma().deployment.findUnique({ ...query, where: { id: String(id) } }),
  }),
);
