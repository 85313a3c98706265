import { builder } from '../builder.ts';

export const NodeRef = builder.prismaObject('Node', {
  description: 'A Docker engine the platform drives.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    endpoint: t.exposeString('endpoint'),
    isDefault: t.exposeBoolean('isDefault'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});
