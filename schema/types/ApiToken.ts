import { prisma } from '../../prisma/client.ts';
import { SCOPES } from '../../services/auth.ts';
import { builder } from '../builder.ts';

export const ScopeEnum = builder.enumType('Scope', {
  description: 'READ sees everything but secrets; DEPLOY also changes and deploys; ADMIN also manages tokens and reveals secrets.',
  values: SCOPES,
});

export const ApiTokenRef = builder.prismaObject('ApiToken', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    displayHint: t.exposeString('displayHint', { description: 'the first characters of the token' }),
    scopes: t.field({ type: [ScopeEnum], select: { scopes: true }, resolve: (token) => token.scopes as (typeof SCOPES)[number][] }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

export const CreateApiTokenInput = builder.inputType('CreateApiTokenInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    scopes: t.field({ type: [ScopeEnum], required: true }),
  }),
});

export const CreatedApiToken = builder
  .objectRef<{ token: string; apiTokenId: string }>('CreatedApiToken')
  .implement({
    fields: (t) => ({
      token: t.exposeString('token', { description: 'the secret: shown only here, once' }),
      apiToken: t.prismaField({
        type: 'ApiToken',
        resolve: (query, created) => prisma().apiToken.findUniqueOrThrow({ ...query, where: { id: created.apiTokenId } }),
      }),
    }),
  });
