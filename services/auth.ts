// API tokens: random secrets with a recognisable prefix, stored only as SHA-256.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PrismaClient } from '../prisma/db.ts';
import { ForbiddenError, NotFoundError, ValidationError } from './errors.ts';

export const SCOPES = ['READ', 'DEPLOY', 'ADMIN'] as const;
export type Scope = (typeof SCOPES)[number];
const TOKEN_PREFIX = 'spt_';

/** Who is acting. DEPLOY includes READ; ADMIN includes everything. */
export interface Principal {
  tokenId: string;
  name: string;
  scopes: ReadonlySet<Scope>;
}

export function effectiveScopes(granted: readonly string[]): Set<Scope> {
  const scopes = new Set(granted.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s)));
  if (scopes.has('ADMIN')) scopes.add('DEPLOY');
  if (scopes.has('DEPLOY')) scopes.add('READ');
  return scopes;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export class AuthService {
  constructor(private readonly prisma: PrismaClient) {}

  /** The principal a bearer token stands for, or null for unknown and revoked tokens. */
  async authenticate(token: string | undefined | null): Promise<Principal | null> {
    if (!token || token.length > 256) return null;
    const hash = hashToken(token);
    const record = await this.prisma.apiToken.findUnique({ where: { tokenHash: hash } });
    if (!record || record.revokedAt) return null;
    // The lookup is by hash already; compare again in constant time for good measure.
    if (!timingSafeEqual(Buffer.from(record.tokenHash), Buffer.from(hash))) return null;
    const now = new Date();
    if (!record.lastUsedAt || now.getTime() - record.lastUsedAt.getTime() > 60_000) {
      await this.prisma.apiToken.update({ where: { id: record.id }, data: { lastUsedAt: now } });
    }
    return { tokenId: record.id, name: record.name, scopes: effectiveScopes(record.scopes) };
  }

  async createToken(actor: Principal | null, input: { name: string; scopes: Scope[] }) {
    const name = input.name.trim();
    const issues = [];
    if (!name || name.length > 100) issues.push({ path: 'name', message: 'must be 1-100 characters' });
    if (input.scopes.length === 0) issues.push({ path: 'scopes', message: 'at least one scope is required' });
    if (issues.length) throw new ValidationError(issues);
    if (actor && !actor.scopes.has('ADMIN')) throw new ForbiddenError('only admins can create tokens');
    const token = newToken();
    const record = await this.prisma.apiToken.create({
      data: {
        name,
        scopes: [...new Set(input.scopes)],
        tokenHash: hashToken(token),
        displayHint: token.slice(0, TOKEN_PREFIX.length + 6),
        createdById: actor?.tokenId,
      },
    });
    return { token, record };
  }

  async revokeToken(id: string) {
    const record = await this.prisma.apiToken.findUnique({ where: { id } });
    if (!record) throw new NotFoundError('ApiToken', id);
    if (record.revokedAt) return record;
    return this.prisma.apiToken.update({ where: { id }, data: { revokedAt: new Date() } });
  }

  /**
   * On a database without any live token, make the first admin token: the configured
   * one, else a fresh one printed once and written to the data dir (mode 0600).
   */
  async bootstrap(options: { configuredToken?: string; dataDir: string; print: (line: string) => void }) {
    const live = await this.prisma.apiToken.count({ where: { revokedAt: null } });
    if (live > 0) return null;
    const token = options.configuredToken ?? newToken();
    await this.prisma.apiToken.create({
      data: {
        name: 'bootstrap',
        scopes: ['ADMIN'],
        tokenHash: hashToken(token),
        displayHint: token.slice(0, TOKEN_PREFIX.length + 6),
      },
    });
    if (!options.configuredToken) {
      await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
      const file = path.join(options.dataDir, 'bootstrap-token');
      await writeFile(file, token + '\n', { mode: 0o600 });
      options.print(`Spunto bootstrap admin token (shown once, also in ${file}):\n  ${token}`);
    }
    return token;
  }
}
