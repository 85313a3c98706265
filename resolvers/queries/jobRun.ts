import { prisma } from '../../prisma/client.ts';
import { builder } from '../../schema/builder.ts';

builder.queryField('jobRun', (t) =>
  t.prismaField({
    type: 'JobRun',
    nullable: true,
    authScopes: { read: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, { id }) => prisma().jobRun.findUnique({ ...query, where: { id: String(id) } }),
  }),
);
