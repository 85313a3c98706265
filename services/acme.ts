// Orders certificates from an ACME directory (Let's Encrypt, staging, Pebble) over HTTP-01
// with acme-client: one account key per platform and directory, sealed at rest, and at most
// one order in flight per domain. The edge answers the challenges from `challenges`.
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import tls from 'node:tls';
import { Client, axios as acmeAxios, crypto as acmeCrypto } from 'acme-client';
import type { PrismaClient } from '../prisma/db.ts';
import type { Logger } from './logger.ts';
import { isUniqueViolation } from './prismaErrors.ts';
import type { SecretBox } from './secrets.ts';
import { SingleFlight } from './singleFlight.ts';

export interface AcmeOptions {
  directoryUrl: string;
  /** extra CA (PEM file) to trust for the directory, e.g. Pebble's */
  caFile?: string;
}

interface Account {
  key: Buffer;
  /** known once registered */
  url: string | null;
}

const ACCOUNT_GONE = /account.*(does not exist|not found|unknown|deactivated)|accountDoesNotExist/i;

export interface IssuedCertificate {
  /** leaf first, then the chain */
  certificatePem: string;
  privateKeyPem: string;
  notBefore: Date;
  notAfter: Date;
}

/** Pending HTTP-01 challenges: token → key authorization, for the host being validated. */
export class Http01Challenges {
  private readonly pending = new Map<string, { domain: string; keyAuthorization: string }>();

  add(token: string, domain: string, keyAuthorization: string): void {
    this.pending.set(token, { domain, keyAuthorization });
  }

  remove(token: string): void {
    this.pending.delete(token);
  }

  /** The body to answer `/.well-known/acme-challenge/<token>` with on `host`, if pending. */
  response(token: string, host: string): string | undefined {
    const challenge = this.pending.get(token);
    return challenge && challenge.domain === host ? challenge.keyAuthorization : undefined;
  }
}

export class AcmeService {
  readonly challenges = new Http01Challenges();
  private readonly inFlight = new SingleFlight<string, IssuedCertificate>();
  private account?: Promise<Account>;
  private trusted?: Promise<void>;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly secrets: SecretBox,
    private readonly options: AcmeOptions,
    private readonly logger: Logger,
  ) {}

  get directoryUrl(): string {
    return this.options.directoryUrl;
  }

  /** Orders a certificate for `domain`; a second call while one is in flight joins it. */
  order(domain: string): Promise<IssuedCertificate> {
    return this.inFlight.run(domain, () => this.placeOrder(domain));
  }

  private async placeOrder(domain: string): Promise<IssuedCertificate> {
    await this.trustDirectoryCa();
    const account = await this.loadAccount();
    try {
      return await this.orderWith(account, domain);
    } catch (error) {
      // The directory forgot the account (a test CA restarted, an account deactivated): register again.
      if (!account.url || !ACCOUNT_GONE.test((error as Error).message)) throw error;
      this.logger.warn({ accountUrl: account.url }, 'the ACME account is gone; registering again');
      account.url = null;
      return this.orderWith(account, domain);
    }
  }

  private async orderWith(account: Account, domain: string): Promise<IssuedCertificate> {
    // Without accountUrl, auto() registers the key first.
    const client = new Client({
      directoryUrl: this.options.directoryUrl,
      accountKey: account.key,
      accountUrl: account.url ?? undefined,
      backoffAttempts: 10,
      backoffMin: 1000,
      backoffMax: 15_000,
    });
    const privateKey = await acmeCrypto.createPrivateEcdsaKey();
    const [, csr] = await acmeCrypto.createCsr({ commonName: domain, altNames: [domain] }, privateKey);
    this.logger.info({ domain, directory: this.options.directoryUrl }, 'ordering certificate');
    const certificatePem = await client.auto({
      csr,
      termsOfServiceAgreed: true,
      challengePriority: ['http-01'],
      // auto() would first fetch the challenge itself over system DNS and port 80; the CA checks anyway.
      skipChallengeVerification: true,
      challengeCreateFn: async (authz, challenge, keyAuthorization) => {
        if (challenge.type !== 'http-01') throw new Error(`the CA offered no http-01 challenge for ${authz.identifier.value}`);
        this.challenges.add(challenge.token, authz.identifier.value, keyAuthorization);
      },
      challengeRemoveFn: async (_authz, challenge) => {
        this.challenges.remove(challenge.token);
      },
    });
    if (account.url !== client.getAccountUrl()) {
      account.url = client.getAccountUrl();
      await this.prisma.acmeAccount.update({ where: { directoryUrl: this.options.directoryUrl }, data: { accountUrl: account.url } });
    }
    const info = acmeCrypto.readCertificateInfo(certificatePem);
    return { certificatePem, privateKeyPem: privateKey.toString(), notBefore: info.notBefore, notAfter: info.notAfter };
  }

  private loadAccount(): Promise<Account> {
    this.account ??= this.findOrCreateAccount().catch((error) => {
      this.account = undefined;
      throw error;
    });
    return this.account;
  }

  private async findOrCreateAccount(): Promise<Account> {
    const directoryUrl = this.options.directoryUrl;
    const open = (row: { accountKeySealed: string; accountUrl: string | null }) => ({
      key: Buffer.from(this.secrets.open(row.accountKeySealed)),
      url: row.accountUrl,
    });
    const existing = await this.prisma.acmeAccount.findUnique({ where: { directoryUrl } });
    if (existing) return open(existing);
    const key = await acmeCrypto.createPrivateEcdsaKey();
    try {
      await this.prisma.acmeAccount.create({ data: { directoryUrl, accountKeySealed: this.secrets.seal(key.toString()) } });
      return { key, url: null };
    } catch (error) {
      // Another instance created it first: use theirs.
      if (!isUniqueViolation(error)) throw error;
      return open(await this.prisma.acmeAccount.findUniqueOrThrow({ where: { directoryUrl } }));
    }
  }

  // acme-client talks through its own axios instance: trust the extra CA there, next to the system roots.
  private trustDirectoryCa(): Promise<void> {
    const caFile = this.options.caFile;
    if (!caFile) return Promise.resolve();
    this.trusted ??= readFile(caFile, 'utf8').then(
      (ca) => {
        acmeAxios.defaults.httpsAgent = new https.Agent({ ca: [...tls.rootCertificates, ca], keepAlive: true });
      },
      (error: Error) => {
        this.trusted = undefined;
        throw new Error(`cannot read SPUNTO_ACME_CA_FILE ${caFile}: ${error.message}`);
      },
    );
    return this.trusted;
  }
}
