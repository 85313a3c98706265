// Custom domains: set one on a service, prove it with a TXT record, remove it. A verified
// domain is routed by the edge and gets a certificate (acmeCertificates.ts).
import { randomBytes } from 'node:crypto';
import type { PrismaClient } from '../prisma/db.ts';
import type { CustomDomain, Service } from '../prisma/generated/client/client.ts';
import { AcmeService } from './acme.ts';
import { CertificateManager } from './acmeCertificates.ts';
import { normalizeDomain, txtRecordName } from './domainsName.ts';
import { checkTxt, instruction, type CheckStatus, type TxtResolverOptions } from './domainsTxt.ts';
import { ConflictError, NotFoundError } from './errors.ts';
import type { Logger } from './logger.ts';
import { isUniqueViolation } from './prismaErrors.ts';
import type { SecretBox } from './secrets.ts';

export interface DomainChange {
  serviceId: string;
  /** the domains whose routes or certificates changed: the old and the new one */
  domains: string[];
  /** the domain was just verified: time to order its certificate */
  verified: boolean;
}

export interface DomainServiceOptions {
  baseDomain: string;
  dns: TxtResolverOptions;
  /** false when the edge can't answer HTTP-01 or serve HTTPS (a listener is off) */
  certificates: boolean;
}

// Setting another domain starts over: nothing of the old one's proof or certificate carries over.
const FRESH = {
  verifiedAt: null,
  lastCheckedAt: null,
  lastCheckStatus: null,
  lastCheckMessage: null,
  certificateStatus: 'NONE',
  certificatePem: null,
  privateKeySealed: null,
  certificateIssuedAt: null,
  certificateExpiresAt: null,
  certificateError: null,
  certificateAttempts: 0,
  nextAttemptAt: null,
} as const;

export class DomainService {
  private readonly listeners = new Set<(change: DomainChange) => void | Promise<void>>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: DomainServiceOptions,
    private readonly logger: Logger,
  ) {}

  get baseDomain(): string {
    return this.options.baseDomain;
  }

  /** `<service>.<deployment>.<base>`: routed by the edge as soon as the service runs. */
  defaultHostname(serviceName: string, deploymentName: string): string {
    return `${serviceName}.${deploymentName}.${this.options.baseDomain}`;
  }

  txtRecordName(domain: string): string {
    return txtRecordName(domain);
  }

  /** The last check's verdict, or what to do when there was none yet. */
  describe(record: Pick<CustomDomain, 'domain' | 'verificationToken' | 'lastCheckStatus' | 'lastCheckMessage'>) {
    return {
      status: (record.lastCheckStatus ?? 'PENDING') as CheckStatus,
      message: record.lastCheckMessage ?? instruction(record.domain, record.verificationToken),
    };
  }

  /**
   * Listens to domain changes made by this process; returns the unsubscribe function. A change
   * is answered once every listener has settled, so the edge's routes are already updated then.
   */
  onChange(listener: (change: DomainChange) => void | Promise<void>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async emit(change: DomainChange): Promise<void> {
    const results = await Promise.allSettled([...this.listeners].map(async (listener) => listener(change)));
    for (const result of results) {
      if (result.status === 'rejected') this.logger.error({ err: result.reason, serviceId: change.serviceId }, 'domain change listener failed');
    }
  }

  /** Sets (or replaces) the service's domain; the same domain again keeps its verification. */
  async set(serviceId: string, input: string): Promise<CustomDomain> {
    const domain = normalizeDomain(input, this.options.baseDomain);
    const service = await this.prisma.service.findUnique({ where: { id: serviceId }, select: { customDomain: true } });
    if (!service) throw new NotFoundError('Service', serviceId);
    const previous = service.customDomain;
    if (previous?.domain === domain) return previous;
    const verificationToken = `spunto-verify=${randomBytes(16).toString('hex')}`;
    let record: CustomDomain;
    try {
      record = await this.prisma.customDomain.upsert({
        where: { serviceId },
        create: { serviceId, domain, verificationToken },
        update: { domain, verificationToken, ...FRESH, observedTxt: [] as string[] },
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`${domain} is already the custom domain of another service`);
      throw error;
    }
    await this.emit({ serviceId, domains: [previous?.domain, domain].filter((d): d is string => !!d), verified: false });
    return record;
  }

  /**
   * Resolves the TXT record and records what it saw. A match marks the domain verified
   * (once verified it stays so) and queues its certificate.
   */
  async verify(serviceId: string): Promise<CustomDomain> {
    const record = await this.prisma.customDomain.findUnique({ where: { serviceId } });
    if (!record) {
      const exists = await this.prisma.service.count({ where: { id: serviceId } });
      throw exists ? new NotFoundError('CustomDomain', serviceId) : new NotFoundError('Service', serviceId);
    }
    const check = await checkTxt(record.domain, record.verificationToken, this.options.dns);
    const now = new Date();
    const newlyVerified = check.status === 'VERIFIED' && !record.verifiedAt;
    const certificate = !newlyVerified
      ? {}
      : this.options.certificates
        ? { certificateStatus: 'PENDING' as const, certificateError: null, nextAttemptAt: now }
        : { certificateError: 'certificates are off: the edge needs its HTTP listener (for HTTP-01) and its HTTPS listener, and one of SPUNTO_EDGE_HTTP_PORT / SPUNTO_EDGE_HTTPS_PORT is 0' };
    // Only if the domain is still the one we checked: a concurrent setCustomDomain wins.
    const { count } = await this.prisma.customDomain.updateMany({
      where: { id: record.id, domain: record.domain, verificationToken: record.verificationToken },
      data: {
        lastCheckedAt: now,
        lastCheckStatus: check.status,
        lastCheckMessage: check.message,
        observedTxt: check.observed,
        ...(newlyVerified && { verifiedAt: now }),
        ...certificate,
      },
    });
    if (count && newlyVerified) {
      this.logger.info({ serviceId, domain: record.domain }, 'custom domain verified');
      await this.emit({ serviceId, domains: [record.domain], verified: true });
    }
    const current = await this.prisma.customDomain.findUnique({ where: { serviceId } });
    if (!current) throw new NotFoundError('CustomDomain', serviceId);
    return current;
  }

  /** Removes the domain: its routes go at once and its certificate is no longer renewed. */
  async remove(serviceId: string): Promise<Service> {
    const service = await this.prisma.service.findUnique({ where: { id: serviceId }, include: { customDomain: true } });
    if (!service) throw new NotFoundError('Service', serviceId);
    const { customDomain, ...rest } = service;
    if (customDomain) {
      await this.prisma.customDomain.deleteMany({ where: { serviceId } });
      await this.emit({ serviceId, domains: [customDomain.domain], verified: false });
    }
    return rest;
  }
}

export interface DomainSettings {
  baseDomain: string;
  /** host:port list for TXT lookups; empty = the system resolvers */
  dnsServers: string[];
  acme: { directoryUrl: string; caFile?: string };
  /** order certificates: only when the edge answers HTTP-01 and serves HTTPS (both listeners on) */
  certificates: boolean;
}

/** Domains, ACME and the certificate lifecycle, wired together (services/index.ts spreads them in). */
export function createDomainServices(prisma: PrismaClient, secrets: SecretBox, logger: Logger, settings?: DomainSettings) {
  const { baseDomain, dnsServers, acme: acmeOptions, certificates: enabled } = settings ?? {
    baseDomain: 'localhost',
    dnsServers: [],
    acme: { directoryUrl: 'https://acme-v02.api.letsencrypt.org/directory' },
    certificates: false,
  };
  const domains = new DomainService(prisma, { baseDomain, dns: { servers: dnsServers, timeoutMs: 2000, tries: 2 }, certificates: enabled }, logger);
  const acme = new AcmeService(prisma, secrets, acmeOptions, logger);
  const certificates = new CertificateManager(prisma, acme, secrets, { enabled }, logger);
  domains.onChange((change) => certificates.handleDomainChange(change));
  return { domains, acme, certificates };
}
