import { prisma } from '../../prisma/client.ts';
import { builder } from '../../schema/builder.ts';

builder.queryField('job', (t) =>
  t.prismaField({
    type: 'Job',
    nullable: true,
    authScopes: { read: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, { id }) => prisma().job.findUnique({ ...query, where: { id: String(id) } }),
  }),
);
