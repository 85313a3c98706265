import { CHECK_STATUSES } from '../../services/domainsTxt.ts';
import { unicodeForm } from '../../services/domainsName.ts';
import { builder } from '../builder.ts';

export const DomainCheckStatus = builder.enumType('DomainCheckStatus', {
  description: 'What the last TXT verification found.',
  values: {
    PENDING: { description: 'not checked yet: create the TXT record, then verify' },
    VERIFIED: { description: 'the TXT record holds the token' },
    MISSING: { description: 'the name exists but has no TXT record' },
    MISMATCH: { description: 'TXT records exist, none holds the token (see observedTxt)' },
    NXDOMAIN: { description: 'the TXT name does not exist' },
    TIMEOUT: { description: 'the DNS servers did not answer in time' },
    DNS_ERROR: { description: 'the lookup failed otherwise (SERVFAIL, refused…)' },
  } satisfies Record<(typeof CHECK_STATUSES)[number], unknown>,
});

export const CertificateStatus = builder.enumType('CertificateStatus', {
  values: {
    NONE: { description: 'no certificate yet (the domain is not verified, or ordering is off)' },
    PENDING: { description: 'being ordered' },
    ISSUED: { description: 'served by the edge; renewed when a third of its lifetime is left' },
    FAILED: { description: 'the last order failed (certificateError); retried at nextCertificateAttemptAt' },
  },
});

export const CustomDomainRef = builder.prismaObject('CustomDomain', {
  description: 'A domain in front of a service: routed by the edge once its TXT record is verified, then served over HTTPS.',
  fields: (t) => ({
    domain: t.exposeString('domain', { description: 'ASCII (punycode) form, as the edge matches it' }),
    unicodeDomain: t.string({ description: 'the domain as people read it', resolve: (d) => unicodeForm(d.domain) }),
    verificationToken: t.exposeString('verificationToken', {
      description: 'publish it as TXT _spunto-challenge.<domain>',
    }),
    txtRecordName: t.string({
      description: 'the TXT record to create, with verificationToken as its value',
      resolve: (d, _args, ctx) => ctx.services.domains.txtRecordName(d.domain),
    }),
    verified: t.boolean({ resolve: (d) => d.verifiedAt !== null }),
    verifiedAt: t.expose('verifiedAt', { type: 'DateTime', nullable: true }),
    status: t.field({
      type: DomainCheckStatus,
      description: 'the verdict of the last verification',
      resolve: (d, _args, ctx) => ctx.services.domains.describe(d).status,
    }),
    message: t.string({
      description: 'what the last verification saw, or what to do next',
      resolve: (d, _args, ctx) => ctx.services.domains.describe(d).message,
    }),
    lastCheckedAt: t.expose('lastCheckedAt', { type: 'DateTime', nullable: true }),
    observedTxt: t.exposeStringList('observedTxt', { description: 'the TXT values the last verification found' }),
    certificateStatus: t.expose('certificateStatus', { type: CertificateStatus }),
    certificateIssuedAt: t.expose('certificateIssuedAt', { type: 'DateTime', nullable: true }),
    certificateExpiresAt: t.expose('certificateExpiresAt', { type: 'DateTime', nullable: true }),
    certificateError: t.exposeString('certificateError', { nullable: true }),
    certificateAttempts: t.exposeInt('certificateAttempts', { description: 'failed orders since the last success' }),
    nextCertificateAttemptAt: t.expose('nextAttemptAt', {
      type: 'DateTime',
      nullable: true,
      description: 'when the next order, retry or renewal is due',
    }),
  }),
});

// The edge routes every service with an HTTP port here, before and besides any custom domain.
builder.prismaObjectField('Service', 'defaultHostname', (t) =>
  t.string({
    description: '<service>.<deployment>.<SPUNTO_BASE_DOMAIN>, routed by the edge proxy',
    select: { name: true, deployment: { select: { name: true } } },
    resolve: (service, _args, ctx) => ctx.services.domains.defaultHostname(service.name, service.deployment.name),
  }),
);
