// What a crashed API instance leaves behind is taken over; a live instance's work is not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateDeploymentDocument, CreateServiceDocument } from '../client/generated/graphql.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

describe('recovery of deploy runs across instances', () => {
  let database: TestDatabase;
  let a: TestApp;
  let b: TestApp | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    a = await startTestApp({ env: { DATABASE_URL: database.url } });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await database?.drop();
  });

  it('fails the runs and frees the locks of a dead instance, and leaves a live one alone', async () => {
    const { createDeployment } = await a.client.request(CreateDeploymentDocument, { input: { name: 'crashy' } });
    if (createDeployment.__typename !== 'MutationCreateDeploymentSuccess') throw new Error('deployment');
    const ids: string[] = [];
    for (const name of ['orphan', 'busy']) {
      const { createService } = await a.client.request(CreateServiceDocument, {
        input: { deploymentId: createDeployment.data.id, name, image: 'nginx' },
      });
      if (createService.__typename !== 'MutationCreateServiceSuccess') throw new Error('service');
      ids.push(createService.data.id);
    }
    const prisma = a.app.db.prisma;
    // The state an instance leaves when it dies mid-deploy: its heartbeat stops, its run
    // stays PULLING, its lock stays taken. The other run belongs to a live instance (A).
    await prisma.apiInstance.create({ data: { id: 'dead-instance', hostname: 'gone', pid: 1, heartbeatAt: new Date(Date.now() - 120_000) } });
    const snapshot = { image: 'nginx', envVars: [], httpPort: null, volumes: [], fileBinds: [], command: null, preDeployCommand: null };
    const orphan = await prisma.deployRun.create({
      data: { serviceId: ids[0], kind: 'DEPLOY', status: 'PULLING', triggeredBy: 'x', image: 'nginx', configSnapshot: snapshot, instanceId: 'dead-instance' },
    });
    const busy = await prisma.deployRun.create({
      data: { serviceId: ids[1], kind: 'DEPLOY', status: 'PULLING', triggeredBy: 'x', image: 'nginx', configSnapshot: snapshot, instanceId: a.app.services.instances.id },
    });
    await prisma.service.update({ where: { id: ids[0] }, data: { activeRunId: orphan.id } });
    await prisma.service.update({ where: { id: ids[1] }, data: { activeRunId: busy.id } });

    b = await startTestApp({ env: { DATABASE_URL: database.url } });

    const after = await prisma.deployRun.findMany({ where: { id: { in: [orphan.id, busy.id] } }, orderBy: { createdAt: 'asc' } });
    expect(after.map((r) => [r.id, r.status, r.errorCode])).toEqual([
      [orphan.id, 'FAILED', 'INTERRUPTED'],
      [busy.id, 'PULLING', null],
    ]);
    const services = await prisma.service.findMany({ where: { id: { in: ids } }, orderBy: { name: 'desc' } });
    expect(services.map((s) => [s.name, s.activeRunId])).toEqual([
      ['orphan', null],
      ['busy', busy.id],
    ]);
    // The replayable event stream of the interrupted run ends with its failure.
    const events = await prisma.deployRunEvent.findMany({ where: { deployRunId: orphan.id } });
    expect(events.at(-1)?.payload).toMatchObject({ type: 'FINISHED', status: 'FAILED' });
  });
});
