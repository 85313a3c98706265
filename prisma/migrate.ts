// npm run db:migrate            apply pending migrations to the configured database
// npm run db:migrate:create NAME write a migration for the change in schema.prisma
// npm run db:migrate:status     list applied and pending migrations
import path from 'node:path';
import { loadConfig, ConfigError } from '../config.ts';
import { openDatabase } from './db.ts';
import { applyMigrations, createMigration, migrationStatus } from './migrator.ts';

async function main(command: string | undefined, arg: string | undefined): Promise<number> {
  const config = loadConfig();
  if (command === 'create') {
    if (!arg) {
      console.error('usage: npm run db:migrate:create -- <name>');
      return 2;
    }
    // The diff runs on a throw-away in-memory database, never on real data.
    const scratch = await openDatabase({ pglitePath: 'memory://' });
    try {
      const created = await createMigration(scratch.adapter, arg);
      console.log(created ? `created prisma/migrations/${created}` : 'schema unchanged: no migration created');
    } finally {
      await scratch.close();
    }
    return 0;
  }
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    pglitePath: path.join(config.dataDir, 'pglite'),
  });
  try {
    if (command === 'deploy') {
      const applied = await applyMigrations(db.adapter);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    } else if (command === 'status') {
      const status = await migrationStatus(db.adapter);
      for (const name of status.applied) console.log(`applied  ${name}`);
      for (const name of status.pending) console.log(`pending  ${name}`);
      for (const name of status.failed) console.log(`FAILED   ${name}`);
    } else {
      console.error('usage: tsx prisma/migrate.ts deploy|create <name>|status');
      return 2;
    }
  } finally {
    await db.close();
  }
  return 0;
}

main(process.argv[2], process.argv[3]).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  },
);
