// Starts a real API server (HTTP + WebSocket on an ephemeral port) for a test file.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../config.ts';
import { buildApp, type App } from '../../server.ts';
import { createSpuntoClient, type SpuntoClient } from '../../client/runtime.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { infra } from './infra.ts';

export type DatabaseKind = 'pglite' | 'postgres';

export interface TestApp {
  app: App;
  url: string;
  adminToken: string;
  dataDir: string;
  /** a client authenticated with the bootstrap admin token */
  client: SpuntoClient;
  clientWith(token?: string): SpuntoClient;
  stop(): Promise<void>;
}

export const BOOTSTRAP_TOKEN = 'spt_test_bootstrap_token_0123456789abcdef';

export async function startTestApp(
  options: { database?: DatabaseKind; env?: Record<string, string> } = {},
): Promise<TestApp> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'spunto-test-'));
  let database: TestDatabase | undefined;
  if (options.database === 'postgres') database = await createTestDatabase();
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    SPUNTO_DATA_DIR: dataDir,
    DOCKER_HOST: infra().dockerHost,
    SPUNTO_BOOTSTRAP_TOKEN: BOOTSTRAP_TOKEN,
    SPUNTO_EDGE_HTTP_PORT: '0',
    SPUNTO_EDGE_HTTPS_PORT: '0',
    ...(database && { DATABASE_URL: database.url }),
    ...options.env,
  });
  const app = await buildApp(config, { logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
  await app.start();
  const clients: SpuntoClient[] = [];
  const clientWith = (token?: string) => {
    const client = createSpuntoClient({ url: app.url, token });
    clients.push(client);
    return client;
  };
  return {
    app,
    url: app.url,
    adminToken: BOOTSTRAP_TOKEN,
    dataDir,
    client: clientWith(BOOTSTRAP_TOKEN),
    clientWith,
    async stop() {
      await Promise.all(clients.map((c) => c.close()));
      await app.stop();
      await database?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
