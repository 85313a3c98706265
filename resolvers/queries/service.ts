import { prisma } from '../../prisma/client.ts';
import { builder } from '../../schema/builder.ts';

builder.queryField('service', (t) =>
  t.prismaField({
    type: 'Service',
    nullable: true,
    authScopes: { read: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, { id }) => prisma().service.findUnique({ ...query, where: { id: String(id) } }),
  }),
);
