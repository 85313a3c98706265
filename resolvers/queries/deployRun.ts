import { prisma } from '../../prisma/client.ts';
import { builder } from '../../schema/builder.ts';

builder.queryField('deployRun', (t) =>
  t.prismaField({
    type: 'DeployRun',
    nullable: true,
    authScopes: { read: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, { id }) => prisma().deployRun.findUnique({ ...query, where: { id: String(id) } }),
  }),
);
