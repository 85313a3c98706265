// Two API instances on one PostgreSQL and one Redis: what happens on one is seen on the other.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateServiceDocument,
  DeleteDeploymentWithVolumesDocument,
  DeployServiceDocument,
} from '../client/generated/graphql.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { createDeploymentNamed } from './support/api.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { infra } from './support/infra.ts';
import { sseSubscribe, wsSubscribe } from './support/subscriptions.ts';

interface StateEvent {
  serviceStateChanged: { serviceId: string; to: string };
}
interface RunEvent {
  deployRunEvents: { seq: number; type: string; line: string | null };
}

describe('two instances sharing PostgreSQL and Redis', () => {
  let database: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let deploymentId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = { DATABASE_URL: database.url, REDIS_URL: infra().redisUrl };
    a = await startTestApp({ env });
    b = await startTestApp({ env });
  });
  afterAll(async () => {
    if (deploymentId) await a.client.request(DeleteDeploymentWithVolumesDocument, { id: deploymentId, removeVolumes: true }).catch(() => {});
    await b?.stop();
    await a?.stop();
    await database?.drop();
  });

  it('a deploy run on instance A is observed by subscribers on instance B', async () => {
    deploymentId = await createDeploymentNamed(b, 'shared');
    const { createService } = await b.client.request(CreateServiceDocument, {
      input: { deploymentId, name: 'api', image: infra().registryImageBusybox, command: 'idle', preDeployCommand: 'echo migrated' },
    });
    if (createService.__typename !== 'MutationCreateServiceSuccess') throw new Error('service');

    const states = wsSubscribe<StateEvent>(b.url, b.adminToken, 'subscription ($d: ID) { serviceStateChanged(deploymentId: $d) { serviceId to } }', { d: deploymentId });
    await new Promise((r) => setTimeout(r, 500)); // the Redis subscription is in place
    const { deployService } = await a.client.request(DeployServiceDocument, { id: createService.data.id, wait: false });
    if (deployService.__typename !== 'MutationDeployServiceSuccess') throw new Error('deploy');

    const runEvents = sseSubscribe<RunEvent>(b.url, b.adminToken, 'subscription ($id: ID!) { deployRunEvents(deployRunId: $id) { seq type line } }', { id: deployService.data.id });
    await runEvents.done;
    const events = runEvents.results.map((r) => r.data!.deployRunEvents);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.some((e) => e.type === 'HOOK_OUTPUT' && e.line === 'migrated')).toBe(true);
    expect(events.at(-1)?.type).toBe('FINISHED');

    await states.until((rs) => rs.some((r) => r.data?.serviceStateChanged.to === 'RUNNING'));
    expect(states.results.map((r) => r.data!.serviceStateChanged.to)).toEqual(['PULLING', 'RUNNING_HOOK', 'STARTING', 'RUNNING']);
    await states.close();
  });
});
