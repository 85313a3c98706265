// The certificate lifecycle of verified domains: first order, retries with backoff, renewal
// when a third of the lifetime is left. Attempts are claimed in the database (compare-and-set
// on nextAttemptAt), so several API instances never order the same certificate twice.
import type { PrismaClient } from '../prisma/db.ts';
import type { CustomDomain } from '../prisma/generated/client/client.ts';
import type { AcmeService } from './acme.ts';
import type { DomainChange } from './domains.ts';
import type { Logger } from './logger.ts';
import type { SecretBox } from './secrets.ts';

export interface CertificateChange {
  serviceId: string;
  domain: string;
}

export interface CertificateManagerOptions {
  /** false when the edge can't answer HTTP-01 or serve HTTPS (a listener is off) */
  enabled: boolean;
  /** how often due orders and renewals are looked for */
  sweepIntervalMs?: number;
}

// Let's Encrypt allows 5 failed validations per hostname and account per hour: retry after
// 10 min, 20, 40, 80… (3 failures in the first hour at most), never waiting more than 12 h.
const RETRY_BASE_MS = 10 * 60_000;
const RETRY_MAX_MS = 12 * 60 * 60_000;
/** How long a claimed attempt keeps others off; an instance that died mid-order is retried after it. */
const CLAIM_MS = 10 * 60_000;

export function retryDelayMs(attempts: number): number {
  return Math.min(RETRY_BASE_MS * 2 ** Math.max(0, attempts - 1), RETRY_MAX_MS);
}

/** Renew when a third of the certificate's lifetime is left. */
export function renewalTime(notBefore: Date, notAfter: Date): Date {
  return new Date(notAfter.getTime() - (notAfter.getTime() - notBefore.getTime()) / 3);
}

function isDue(record: CustomDomain, now: Date): boolean {
  if (!record.verifiedAt) return false;
  return record.nextAttemptAt ? record.nextAttemptAt <= now : !record.certificatePem;
}

export class CertificateManager {
  private readonly listeners = new Set<(change: CertificateChange) => void | Promise<void>>();
  private readonly attempts = new Map<string, Promise<CustomDomain | null>>();
  private timer?: NodeJS.Timeout;
  private sweep?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly acme: AcmeService,
    private readonly secrets: SecretBox,
    private readonly options: CertificateManagerOptions,
    private readonly logger: Logger,
  ) {}

  get enabled(): boolean {
    return this.options.enabled;
  }

  /** Listens to certificates issued by this process (an attempt resolves once they have settled). */
  onChange(listener: (change: CertificateChange) => void | Promise<void>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A freshly verified domain gets its first order right away. */
  handleDomainChange(change: DomainChange): void {
    if (!change.verified || !this.options.enabled || this.stopped) return;
    this.attempt(change.serviceId).catch((err) => this.logger.error({ err, serviceId: change.serviceId }, 'certificate order crashed'));
  }

  /**
   * Orders (or renews) the certificate of the service's domain if it is due at `now`;
   * joins the attempt already running for it. Answers the record as it is afterwards.
   */
  attempt(serviceId: string, now = new Date()): Promise<CustomDomain | null> {
    let running = this.attempts.get(serviceId);
    if (!running) {
      running = this.run(serviceId, now).finally(() => this.attempts.delete(serviceId));
      this.attempts.set(serviceId, running);
    }
    return running;
  }

  /** Every verified domain whose order, retry or renewal is due at `now`, one after another. */
  async processDue(now = new Date()): Promise<void> {
    const due = await this.prisma.customDomain.findMany({
      where: {
        verifiedAt: { not: null },
        OR: [{ nextAttemptAt: { lte: now } }, { nextAttemptAt: null, certificatePem: null }],
      },
      select: { serviceId: true },
      orderBy: { nextAttemptAt: 'asc' },
    });
    for (const { serviceId } of due) {
      if (this.stopped) return;
      await this.attempt(serviceId, now);
    }
  }

  start(): void {
    if (!this.options.enabled || this.timer) return;
    const interval = this.options.sweepIntervalMs ?? 60_000;
    const tick = () => {
      this.sweep ??= this.processDue()
        .catch((err) => this.logger.error({ err }, 'certificate sweep failed'))
        .finally(() => (this.sweep = undefined));
    };
    this.timer = setInterval(tick, interval);
    this.timer.unref();
    tick();
  }

  /** Stops the sweep and waits for the orders in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([this.sweep, ...this.attempts.values()]);
  }

  private async run(serviceId: string, now: Date): Promise<CustomDomain | null> {
    const record = await this.prisma.customDomain.findUnique({ where: { serviceId } });
    if (!record || !isDue(record, now)) return record;
    const claimed = await this.prisma.customDomain.updateMany({
      where: { id: record.id, domain: record.domain, nextAttemptAt: record.nextAttemptAt },
      data: {
        nextAttemptAt: new Date(now.getTime() + CLAIM_MS),
        certificateStatus: record.certificatePem ? record.certificateStatus : 'PENDING',
      },
    });
    if (claimed.count === 0) return this.prisma.customDomain.findUnique({ where: { serviceId } });

    try {
      const issued = await this.acme.order(record.domain);
      // Only if the service still has this domain: a removed or changed domain is dropped.
      const saved = await this.prisma.customDomain.updateMany({
        where: { id: record.id, domain: record.domain },
        data: {
          certificateStatus: 'ISSUED',
          certificatePem: issued.certificatePem,
          privateKeySealed: this.secrets.seal(issued.privateKeyPem),
          certificateIssuedAt: new Date(),
          certificateExpiresAt: issued.notAfter,
          certificateError: null,
          certificateAttempts: 0,
          nextAttemptAt: renewalTime(issued.notBefore, issued.notAfter),
        },
      });
      if (saved.count) {
        this.logger.info({ domain: record.domain, expiresAt: issued.notAfter }, record.certificatePem ? 'certificate renewed' : 'certificate issued');
        await this.emit({ serviceId, domain: record.domain });
      }
    } catch (error) {
      const attempts = record.certificateAttempts + 1;
      const message = error instanceof Error ? error.message : String(error);
      const stillValid = !!record.certificatePem && !!record.certificateExpiresAt && record.certificateExpiresAt > now;
      const nextAttemptAt = new Date(now.getTime() + retryDelayMs(attempts));
      this.logger.warn({ domain: record.domain, attempts, nextAttemptAt, err: message }, 'certificate order failed');
      await this.prisma.customDomain
        .updateMany({
          where: { id: record.id, domain: record.domain },
          data: {
            certificateStatus: stillValid ? 'ISSUED' : 'FAILED',
            certificateError: `attempt ${attempts} failed: ${message}`,
            certificateAttempts: attempts,
            nextAttemptAt,
          },
        })
        .catch((err) => this.logger.error({ err, domain: record.domain }, 'could not record the failed certificate order'));
    }
    return this.prisma.customDomain.findUnique({ where: { serviceId } });
  }

  private async emit(change: CertificateChange): Promise<void> {
    const results = await Promise.allSettled([...this.listeners].map(async (listener) => listener(change)));
    for (const result of results) {
      if (result.status === 'rejected') this.logger.error({ err: result.reason, domain: change.domain }, 'certificate change listener failed');
    }
  }
}
