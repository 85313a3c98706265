// The certificates the edge serves by SNI: one TLS context per domain with an issued
// certificate, replaced as soon as a renewal is stored (no restart, no redeploy).
import tls from 'node:tls';
import type { PrismaClient } from '../../prisma/db.ts';
import type { Logger } from '../logger.ts';
import type { SecretBox } from '../secrets.ts';

interface Served {
  context: tls.SecureContext;
  certificatePem: string;
}

const FIELDS = { domain: true, certificatePem: true, privateKeySealed: true } as const;

export class TlsCertificates {
  private readonly served = new Map<string, Served>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly secrets: SecretBox,
    private readonly logger: Logger,
  ) {}

  get(servername: string): tls.SecureContext | undefined {
    return this.served.get(servername)?.context;
  }

  has(host: string): boolean {
    return this.served.has(host);
  }

  /** Loads every issued certificate of a verified domain; drops the ones that are gone. */
  async refreshAll(): Promise<void> {
    const rows = await this.prisma.customDomain.findMany({
      where: { verifiedAt: { not: null }, certificatePem: { not: null }, privateKeySealed: { not: null } },
      select: FIELDS,
    });
    const live = new Set(rows.map((r) => r.domain));
    for (const domain of this.served.keys()) if (!live.has(domain)) this.served.delete(domain);
    for (const row of rows) this.install(row.domain, row.certificatePem!, row.privateKeySealed!);
  }

  /** Re-reads one domain: serves its current certificate, or nothing if it has none (or is gone). */
  async refresh(domain: string): Promise<void> {
    const row = await this.prisma.customDomain.findUnique({ where: { domain }, select: { ...FIELDS, verifiedAt: true } });
    if (!row?.verifiedAt || !row.certificatePem || !row.privateKeySealed) {
      this.served.delete(domain);
      return;
    }
    this.install(domain, row.certificatePem, row.privateKeySealed);
  }

  private install(domain: string, certificatePem: string, privateKeySealed: string): void {
    if (this.served.get(domain)?.certificatePem === certificatePem) return;
    try {
      const context = tls.createSecureContext({ cert: certificatePem, key: this.secrets.open(privateKeySealed) });
      this.served.set(domain, { context, certificatePem });
    } catch (err) {
      this.logger.error({ err, domain }, 'edge could not load the certificate');
    }
  }
}
