// The Prisma client the schema resolves through, bound once by the composition root.
import type { PrismaClient } from './db.ts';

let bound: PrismaClient | undefined;

export function bindPrisma(client: PrismaClient): void {
  bound = client;
}

export function prisma(): PrismaClient {
  if (!bound) throw new Error('Prisma client used before bindPrisma()');
  return bound;
}
