// The database factory: embedded PGlite under the data dir by default, a PostgreSQL
// server when DATABASE_URL is set. Both speak the same schema and migrations.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaClient } from './generated/client/client.ts';

export type { PrismaClient };

export interface Database {
  kind: 'pglite' | 'postgres';
  prisma: PrismaClient;
  adapter: SqlMigrationAwareDriverAdapterFactory;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl?: string;
  /** PGlite data directory; `memory://` for a throw-away database */
  pglitePath?: string;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const adapter = new PrismaPg({ connectionString: options.databaseUrl, max: 10 });
    const prisma = new PrismaClient({ adapter });
    return {
      kind: 'postgres',
      prisma,
      adapter,
      ping: async () => void (await prisma.$queryRawUnsafe('SELECT 1')),
      close: () => prisma.$disconnect(),
    };
  }
  const dataPath = options.pglitePath ?? 'memory://';
  if (!dataPath.startsWith('memory://')) await mkdir(path.dirname(dataPath), { recursive: true });
  const pglite = await PGlite.create(dataPath);
  const adapter = new PrismaPGlite(pglite);
  const prisma = new PrismaClient({ adapter });
  return {
    kind: 'pglite',
    prisma,
    adapter,
    ping: async () => void (await pglite.query('SELECT 1')),
    close: async () => {
      await prisma.$disconnect();
      await pglite.close();
    },
  };
}
