// Deployments and services as configuration, with validation, on both databases.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateDeploymentDocument,
  CreateServiceDocument,
  DeleteDeploymentDocument,
  DeleteServiceDocument,
  DeploymentDocument,
  DeploymentsDocument,
  NodesDocument,
  ServiceDocument,
  UpdateDeploymentDocument,
  UpdateServiceDocument,
} from '../client/generated/graphql.ts';
import { startTestApp, type DatabaseKind, type TestApp } from './support/app.ts';

describe.each<DatabaseKind>(['pglite', 'postgres'])('configuration CRUD on %s', (database) => {
  let t: TestApp;
  let deploymentId: string;

  beforeAll(async () => {
    t = await startTestApp({ database, env: { SPUNTO_BIND_ROOTS: '/srv/spunto-binds' } });
  });
  afterAll(() => t?.stop());

  it('lists the default node from DOCKER_HOST', async () => {
    const { nodes } = await t.client.request(NodesDocument);
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatchObject({ name: 'local', isDefault: true });
  });

  it('creates a deployment on the default node', async () => {
    const { createDeployment: r } = await t.client.request(CreateDeploymentDocument, {
      input: { name: 'shop', description: 'the shop' },
    });
    if (r.__typename !== 'MutationCreateDeploymentSuccess') throw new Error(r.message);
    deploymentId = r.data.id;
    expect(r.data).toMatchObject({ name: 'shop', networkName: `mp-dep-${r.data.id}`, node: { name: 'local' } });
  });

  it('refuses invalid and duplicate deployment names with typed errors', async () => {
    const bad = await t.client.request(CreateDeploymentDocument, { input: { name: 'Not_A_Label' } });
    expect(bad.createDeployment).toMatchObject({ __typename: 'ValidationError', issues: [{ path: 'name' }] });
    const dup = await t.client.request(CreateDeploymentDocument, { input: { name: 'shop' } });
    expect(dup.createDeployment.__typename).toBe('ConflictError');
    const missingNode = await t.client.request(CreateDeploymentDocument, { input: { name: 'other', nodeId: 'nope' } });
    expect(missingNode.createDeployment).toMatchObject({ __typename: 'NotFoundError', entity: 'Node' });
    const { deployments } = await t.client.request(DeploymentsDocument);
    expect(deployments.map((d) => d.name)).toEqual(['shop']);
  });

  it('creates a service with every field, env values masked', async () => {
    const { createService: r } = await t.client.request(CreateServiceDocument, {
      input: {
        deploymentId,
        name: 'api',
        image: 'registry.example.com:5000/team/api:1.2.3',
        envVars: [
          { key: 'DATABASE_URL', value: 'postgresql://db:5432/mydb' },
          { key: 'SECRET_KEY', value: 's3cr3t-value' },
        ],
        httpPort: 8080,
        volumes: [{ name: 'uploads', mountPath: '/data/uploads' }],
        fileBinds: [{ hostPath: '/srv/spunto-binds/api/config.yml', containerPath: '/etc/api/config.yml', readOnly: true }],
        command: 'node server.js --port "8080"',
        preDeployCommand: 'npx prisma migrate deploy',
      },
    });
    if (r.__typename !== 'MutationCreateServiceSuccess') throw new Error(JSON.stringify(r));
    expect(r.data).toMatchObject({
      name: 'api',
      status: 'CREATED',
      httpPort: 8080,
      command: 'node server.js --port "8080"',
      preDeployCommand: 'npx prisma migrate deploy',
      volumes: [{ name: 'uploads', mountPath: '/data/uploads' }],
      fileBinds: [{ hostPath: '/srv/spunto-binds/api/config.yml', containerPath: '/etc/api/config.yml', readOnly: true }],
    });
    expect(r.data.envVars.map((v) => v.key)).toEqual(['DATABASE_URL', 'SECRET_KEY']);
    expect(JSON.stringify(r.data)).not.toContain('s3cr3t-value');

    // At rest the value is sealed, not plain.
    const row = await t.app.db.prisma.service.findUniqueOrThrow({ where: { id: r.data.id } });
    expect(JSON.stringify(row.envVars)).not.toContain('s3cr3t-value');

    // An admin can reveal; a deploy-scoped token cannot.
    const { service } = await t.client.request(ServiceDocument, { id: r.data.id, reveal: true });
    expect(service?.revealed).toContainEqual({ key: 'SECRET_KEY', value: 's3cr3t-value' });
    const { createApiToken } = await t.client.request(
      (await import('../client/generated/graphql.ts')).CreateApiTokenDocument,
      { input: { name: 'ci', scopes: ['DEPLOY'] } },
    );
    if (createApiToken.__typename !== 'MutationCreateApiTokenSuccess') throw new Error('token');
    const deployer = t.clientWith(createApiToken.data.token);
    const denied = await deployer.execute(ServiceDocument, { id: r.data.id, reveal: true });
    expect(denied.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const masked = await deployer.request(ServiceDocument, { id: r.data.id, reveal: false });
    expect(masked.service?.revealed.every((v) => v.value === '••••••••')).toBe(true);
  });

  it('reports every validation problem of a service at once and stores nothing', async () => {
    const { createService: r } = await t.client.request(CreateServiceDocument, {
      input: {
        deploymentId,
        name: '-bad-',
        image: 'UPPER/case:tag',
        envVars: [
          { key: '1ABC', value: 'x' },
          { key: 'OK', value: 'a' },
          { key: 'OK', value: 'b' },
        ],
        httpPort: 70000,
        volumes: [{ name: '../x', mountPath: 'relative' }],
        fileBinds: [{ hostPath: '/etc/passwd', containerPath: '/etc/passwd' }],
        command: 'echo hi && rm -rf /',
      },
    });
    expect(r.__typename).toBe('ValidationError');
    if (r.__typename !== 'ValidationError') return;
    expect(r.issues.map((i) => i.path).sort()).toEqual(
      [
        'command',
        'envVars[0].key',
        'envVars[2].key',
        'fileBinds[0].hostPath',
        'httpPort',
        'image',
        'name',
        'volumes[0].mountPath',
        'volumes[0].name',
      ].sort(),
    );
    const { deployment } = await t.client.request(DeploymentDocument, { id: deploymentId });
    expect(deployment?.services.map((s) => s.name)).toEqual(['api']);
  });

  it('accepts the image reference forms Docker accepts', async () => {
    const images = [
      'nginx',
      'library/nginx:1.27',
      'ghcr.io/owner/app:sha-abc',
      'localhost:5000/app',
      `postgres@sha256:${'a'.repeat(64)}`,
      `docker.io/library/redis:7@sha256:${'b'.repeat(64)}`,
    ];
    for (const [i, image] of images.entries()) {
      const { createService: r } = await t.client.request(CreateServiceDocument, {
        input: { deploymentId, name: `img${i}`, image },
      });
      expect(r.__typename, image).toBe('MutationCreateServiceSuccess');
    }
  });

  it('keeps service names unique within a deployment', async () => {
    const { createService: r } = await t.client.request(CreateServiceDocument, {
      input: { deploymentId, name: 'api', image: 'nginx' },
    });
    expect(r.__typename).toBe('ConflictError');
  });

  it('refuses host binds outside the allowed roots, even through ..', async () => {
    const { createService: r } = await t.client.request(CreateServiceDocument, {
      input: {
        deploymentId,
        name: 'sneaky',
        image: 'nginx',
        fileBinds: [{ hostPath: '/srv/spunto-binds/../../etc', containerPath: '/x' }],
      },
    });
    expect(r).toMatchObject({ __typename: 'ValidationError', issues: [{ path: 'fileBinds[0].hostPath' }] });
  });

  it('updates a service: merges, unsets and replaces env vars, clears nullable fields', async () => {
    const { deployment } = await t.client.request(DeploymentDocument, { id: deploymentId });
    const api = deployment!.services.find((s) => s.name === 'api')!;
    const { updateService: r } = await t.client.request(UpdateServiceDocument, {
      input: {
        id: api.id,
        image: 'registry.example.com:5000/team/api:1.2.4',
        setEnvVars: [{ key: 'LOG_LEVEL', value: 'debug' }, { key: 'SECRET_KEY', value: 'rotated' }],
        unsetEnvVars: ['DATABASE_URL'],
        httpPort: null,
        preDeployCommand: null,
      },
    });
    if (r.__typename !== 'MutationUpdateServiceSuccess') throw new Error(JSON.stringify(r));
    expect(r.data).toMatchObject({ image: 'registry.example.com:5000/team/api:1.2.4', httpPort: null, preDeployCommand: null });
    const { service } = await t.client.request(ServiceDocument, { id: api.id, reveal: true });
    expect(service?.revealed).toEqual([
      { key: 'SECRET_KEY', value: 'rotated' },
      { key: 'LOG_LEVEL', value: 'debug' },
    ]);

    const invalid = await t.client.request(UpdateServiceDocument, { input: { id: api.id, setEnvVars: [{ key: 'BAD-KEY', value: '' }] } });
    expect(invalid.updateService).toMatchObject({ __typename: 'ValidationError', issues: [{ path: 'setEnvVars[0].key' }] });
    const missing = await t.client.request(UpdateServiceDocument, { input: { id: 'missing', image: 'nginx' } });
    expect(missing.updateService).toMatchObject({ __typename: 'NotFoundError', entity: 'Service' });
    const after = await t.client.request(ServiceDocument, { id: api.id, reveal: true });
    expect(after.service?.revealed).toEqual(service?.revealed);
  });

  it('renames a deployment and deletes services and deployments', async () => {
    const renamed = await t.client.request(UpdateDeploymentDocument, { input: { id: deploymentId, name: 'store' } });
    expect(renamed.updateDeployment).toMatchObject({ __typename: 'MutationUpdateDeploymentSuccess', data: { name: 'store' } });
    const { deployment } = await t.client.request(DeploymentDocument, { id: deploymentId });
    const img0 = deployment!.services.find((s) => s.name === 'img0')!;
    const del = await t.client.request(DeleteServiceDocument, { id: img0.id });
    expect(del.deleteService).toEqual({ __typename: 'MutationDeleteServiceSuccess', data: img0.id });
    expect((await t.client.request(ServiceDocument, { id: img0.id })).service).toBeNull();

    const gone = await t.client.request(DeleteDeploymentDocument, { id: deploymentId });
    expect(gone.deleteDeployment).toEqual({ __typename: 'MutationDeleteDeploymentSuccess', data: deploymentId });
    expect((await t.client.request(DeploymentsDocument)).deployments).toEqual([]);
    expect(await t.app.db.prisma.service.count()).toBe(0);
    const again = await t.client.request(DeleteDeploymentDocument, { id: deploymentId });
    expect(again.deleteDeployment.__typename).toBe('NotFoundError');
  });
});

describe('host binds when no roots are configured', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.stop());

  it('refuses every host bind', async () => {
    const { createDeployment } = await t.client.request(CreateDeploymentDocument, { input: { name: 'x' } });
    if (createDeployment.__typename !== 'MutationCreateDeploymentSuccess') throw new Error('deployment');
    const { createService: r } = await t.client.request(CreateServiceDocument, {
      input: {
        deploymentId: createDeployment.data.id,
        name: 'web',
        image: 'nginx',
        fileBinds: [{ hostPath: '/tmp/anything', containerPath: '/x' }],
      },
    });
    expect(r.__typename).toBe('ValidationError');
    if (r.__typename === 'ValidationError') expect(r.issues[0].message).toContain('SPUNTO_BIND_ROOTS');
  });
});
