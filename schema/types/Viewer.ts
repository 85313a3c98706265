import type { Principal } from '../../services/auth.ts';
import { prisma } from '../../prisma/client.ts';
import { builder } from '../builder.ts';
import { ScopeEnum } from './ApiToken.ts';

export const ViewerRef = builder.objectRef<Principal>('Viewer').implement({
  description: 'Who the request acts as: the API token it presented.',
  fields: (t) => ({
    name: t.string({ resolve: (p) => p.name }),
    scopes: t.field({ type: [ScopeEnum], resolve: (p) => [...p.scopes] }),
    token: t.prismaField({
      type: 'ApiToken',
      resolve: (query, p) => prisma().apiToken.findUniqueOrThrow({ ...query, where: { id: p.tokenId } }),
    }),
  }),
});
