// The WASM migration runner applies each migration once, on PGlite and PostgreSQL.
import { readdir } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../prisma/db.ts';
import { applyMigrations, migrationStatus, migrationsDir } from '../prisma/migrator.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

const committed = (await readdir(migrationsDir, { withFileTypes: true }))
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

describe.each(['pglite', 'postgres'] as const)('migrations on %s', (kind) => {
  let db: Database;
  let pg: TestDatabase | undefined;

  afterAll(async () => {
    await db?.close();
    await pg?.drop();
  });

  it('lists every migration as pending on an empty database', async () => {
    if (kind === 'postgres') pg = await createTestDatabase();
    db = await openDatabase({ databaseUrl: pg?.url, pglitePath: 'memory://' });
    const status = await migrationStatus(db.adapter);
    expect(status).toEqual({ applied: [], pending: committed, failed: [] });
  });

  it('applies them all once, in Prisma\'s own table', async () => {
    expect(await applyMigrations(db.adapter)).toEqual(committed);
    const rows = await db.prisma.$queryRawUnsafe<{ migration_name: string; finished_at: Date | null }[]>(
      'SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(rows.map((r) => r.migration_name)).toEqual(committed);
    expect(rows.every((r) => r.finished_at !== null)).toBe(true);
  });

  it('is idempotent: a second run applies nothing and changes nothing', async () => {
    expect(await applyMigrations(db.adapter)).toEqual([]);
    const count = await db.prisma.$queryRawUnsafe<{ n: number }[]>('SELECT count(*)::int AS n FROM _prisma_migrations');
    expect(count[0].n).toBe(committed.length);
    expect(await migrationStatus(db.adapter)).toEqual({ applied: committed, pending: [], failed: [] });
  });

  it('leaves a schema the client can use', async () => {
    const node = await db.prisma.node.create({ data: { name: 'n', endpoint: 'unix:///x' } });
    expect(await db.prisma.node.findUnique({ where: { id: node.id } })).toMatchObject({ name: 'n' });
  });
});
