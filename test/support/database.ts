// Fresh PostgreSQL databases for tests, each dropped afterwards. The guard refuses
// to create or drop anything whose name does not mark it as a throw-away test database.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { infra } from './infra.ts';

const TEST_DB = /^spunto_test_[a-z0-9_]+$/;

function assertTestDatabase(name: string): void {
  if (!TEST_DB.test(name)) throw new Error(`refusing to touch database "${name}": not a test database`);
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: infra().pgAdminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `spunto_test_${randomBytes(6).toString('hex')}`;
  assertTestDatabase(name);
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(infra().pgAdminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      assertTestDatabase(name);
      await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}
