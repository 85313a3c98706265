import { builder } from '../builder.ts';

export const CustomDomainRef = builder.prismaObject('CustomDomain', {
  fields: (t) => ({
    domain: t.exposeString('domain'),
    verificationToken: t.exposeString('verificationToken', {
      description: 'publish it as TXT _spunto-challenge.<domain>',
    }),
    verified: t.boolean({ resolve: (d) => d.verifiedAt !== null }),
    verifiedAt: t.expose('verifiedAt', { type: 'DateTime', nullable: true }),
  }),
});
