// The presets marketplace on a real engine. The catalogue keeps the real upstream images;
// there is no registry access here, so services added from it run the local busybox image
// (an override) to check the wiring: env with fresh secrets, volumes, alias, outputs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddPresetServiceDocument,
  DeleteDeploymentWithVolumesDocument,
  DeployServiceDocument,
  PresetsDocument,
  ServiceDocument,
  type PresetsQuery,
} from '../client/generated/graphql.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { createDeploymentNamed } from './support/api.ts';
import { containerEnv, docker, exec } from './support/docker.ts';
import { infra } from './support/infra.ts';

let t: TestApp;
let deploymentId: string;
let presets: PresetsQuery['presets'];
const local = () => ({ image: infra().registryImageBusybox, command: 'idle' });

async function add(presetId: string, name: string, overrides: Record<string, unknown> = local()) {
  const { addPresetService: r } = await t.client.request(AddPresetServiceDocument, { input: { deploymentId, presetId, name, overrides } as never });
  if (r.__typename !== 'MutationAddPresetServiceSuccess') throw new Error(JSON.stringify(r));
  return r.data;
}

async function revealed(id: string): Promise<Record<string, string>> {
  const { service } = await t.client.request(ServiceDocument, { id, reveal: true });
  return Object.fromEntries(service!.revealed.map((v) => [v.key, v.value]));
}

beforeAll(async () => {
  t = await startTestApp();
  deploymentId = await createDeploymentNamed(t, 'market');
  presets = (await t.client.request(PresetsDocument)).presets;
});

afterAll(async () => {
  if (deploymentId) await t?.client.request(DeleteDeploymentWithVolumesDocument, { id: deploymentId, removeVolumes: true }).catch(() => {});
  await t?.stop();
});

describe('the presets catalogue', () => {
  it('lists the upstream images with their env names, data paths, ports, health checks and outputs', () => {
    const byId = Object.fromEntries(presets.map((p) => [p.id, p]));
    const shape = (id: string) => {
      const p = byId[id];
      return {
        image: p.image,
        port: p.port,
        httpPort: p.httpPort,
        env: p.env.map((e) => e.key),
        generated: p.env.filter((e) => e.generated).map((e) => e.key),
        volumes: p.volumes.map((v) => v.mountPath),
        outputs: p.outputs.map((o) => o.key),
      };
    };
    expect(shape('postgresql')).toEqual({
      image: 'postgres:17',
      port: 5432,
      httpPort: null,
      env: ['POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_DB', 'PGDATA'],
      generated: ['POSTGRES_PASSWORD'],
      volumes: ['/var/lib/postgresql/data'],
      outputs: ['DATABASE_URL', 'PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE'],
    });
    expect(shape('mysql')).toMatchObject({ image: 'mysql:8.4', port: 3306, volumes: ['/var/lib/mysql'], generated: ['MYSQL_ROOT_PASSWORD', 'MYSQL_PASSWORD'] });
    expect(shape('mariadb')).toMatchObject({ image: 'mariadb:11.4', port: 3306, volumes: ['/var/lib/mysql'], generated: ['MARIADB_ROOT_PASSWORD', 'MARIADB_PASSWORD'] });
    expect(shape('redis')).toMatchObject({ image: 'redis:7.4', port: 6379, volumes: ['/data'], outputs: ['REDIS_URL', 'REDIS_HOST', 'REDIS_PORT'] });
    expect(shape('mongodb')).toMatchObject({ image: 'mongo:8.0', port: 27017, volumes: ['/data/db', '/data/configdb'], generated: ['MONGO_INITDB_ROOT_PASSWORD'] });
    expect(shape('minio')).toMatchObject({
      image: 'minio/minio:latest',
      port: 9000,
      httpPort: 9000,
      volumes: ['/data'],
      generated: ['MINIO_ROOT_USER', 'MINIO_ROOT_PASSWORD'],
      outputs: ['S3_ENDPOINT', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'S3_REGION', 'S3_FORCE_PATH_STYLE'],
    });
    expect(shape('rabbitmq')).toMatchObject({ image: 'rabbitmq:4-management', port: 5672, httpPort: 15672, volumes: ['/var/lib/rabbitmq'] });
    for (const p of presets) {
      expect(p.healthCheck.test.length, p.id).toBeGreaterThan(1);
      expect(p.description, p.id).not.toBe('');
      expect(p.env.filter((e) => e.generated).every((e) => e.value === null), p.id).toBe(true);
    }
    expect(byId.postgresql.outputs[0].template).toBe('postgresql://${{POSTGRES_USER}}:${{POSTGRES_PASSWORD}}@${{SPUNTO_HOSTNAME}}:5432/${{POSTGRES_DB}}');
  });
});

describe('adding a preset service', () => {
  it('adds a ready-to-deploy service in one call, with fresh secrets every time', async () => {
    const one = await add('postgresql', 'pg-one');
    const two = await add('postgresql', 'pg-two');
    expect(one).toMatchObject({
      presetId: 'postgresql',
      status: 'CREATED',
      image: infra().registryImageBusybox,
      volumes: [{ name: 'pg-one-data', mountPath: '/var/lib/postgresql/data' }],
      outputs: [
        { key: 'DATABASE_URL', template: 'postgresql://${{POSTGRES_USER}}:${{POSTGRES_PASSWORD}}@${{SPUNTO_HOSTNAME}}:5432/${{POSTGRES_DB}}' },
        { key: 'PGDATABASE', template: '${{POSTGRES_DB}}' },
        { key: 'PGHOST', template: '${{SPUNTO_HOSTNAME}}' },
        { key: 'PGPASSWORD', template: '${{POSTGRES_PASSWORD}}' },
        { key: 'PGPORT', template: '5432' },
        { key: 'PGUSER', template: '${{POSTGRES_USER}}' },
      ],
    });
    // Secrets stay masked for readers.
    expect(one.envVars.find((v) => v.key === 'POSTGRES_PASSWORD')!.value).toBe('••••••••');
    const [a, b] = [await revealed(one.id), await revealed(two.id)];
    expect(a.POSTGRES_PASSWORD).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(b.POSTGRES_PASSWORD).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(a.POSTGRES_PASSWORD).not.toBe(b.POSTGRES_PASSWORD);
    expect(a).toMatchObject({ POSTGRES_USER: 'app', POSTGRES_DB: 'app', PGDATA: '/var/lib/postgresql/data/pgdata' });
  });

  it('keeps the preset command and httpPort unless overridden, and refuses what is wrong', async () => {
    const minio = await add('minio', 'files', { image: infra().registryImageBusybox });
    expect(minio).toMatchObject({ command: 'minio server /data --address :9000 --console-address :9001', httpPort: 9000 });
    const redis = await add('redis', 'kv', { image: infra().registryImageBusybox });
    expect(redis.command).toBe(presets.find((p) => p.id === 'redis')!.command);
    const keys = await revealed(minio.id);
    expect(keys.MINIO_ROOT_USER).toMatch(/^[a-z][a-z0-9]{19}$/);
    expect(keys.MINIO_ROOT_PASSWORD).toMatch(/^[A-Za-z0-9]{40}$/);

    const { addPresetService: unknown } = await t.client.request(AddPresetServiceDocument, { input: { deploymentId, presetId: 'oracle' } });
    expect(unknown).toMatchObject({ __typename: 'NotFoundError', entity: 'Preset', id: 'oracle' });
    const { addPresetService: taken } = await t.client.request(AddPresetServiceDocument, { input: { deploymentId, presetId: 'redis', name: 'files' } });
    expect(taken.__typename).toBe('ConflictError');
    const { addPresetService: invalid } = await t.client.request(AddPresetServiceDocument, {
      input: { deploymentId, presetId: 'redis', name: 'Bad_Name', overrides: { envVars: [{ key: 'X', value: '${{nope.Y}}' }] } },
    });
    expect(invalid).toMatchObject({ __typename: 'ValidationError' });
  });

  it('deploys with the preset env, volume and alias; its own references resolve', async () => {
    const cache = await add('redis', 'cache');
    const { deployService } = await t.client.request(DeployServiceDocument, { id: cache.id, wait: true });
    if (deployService.__typename !== 'MutationDeployServiceSuccess') throw new Error(JSON.stringify(deployService));
    const containerId = deployService.data.containerId!;
    const secrets = await revealed(cache.id);
    // REDISCLI_AUTH is stored as ${{REDIS_PASSWORD}} and reaches the container resolved.
    expect(secrets.REDISCLI_AUTH).toBe('${{REDIS_PASSWORD}}');
    const env = await containerEnv(containerId);
    expect(env).toMatchObject({ REDIS_PASSWORD: secrets.REDIS_PASSWORD, REDISCLI_AUTH: secrets.REDIS_PASSWORD });
    const info = await docker().getContainer(containerId).inspect();
    expect(info.Mounts.map((m) => [m.Type, m.Name, m.Destination])).toEqual([['volume', `mp-vol-${deploymentId}-cache-data`, '/data']]);
    expect(info.NetworkSettings.Networks[`mp-dep-${deploymentId}`].Aliases).toContain('cache');
    expect(await exec(containerId, ['sh', '-c', 'echo kept > /data/f && cat /data/f'])).toEqual({ output: 'kept\n', exitCode: 0 });
  });
});
