// Variable references between the services of a deployment, on a real engine: checked
// when saved, resolved into the consuming container's environment at deploy time (read
// back from inside it), and followed by deployDeployment's order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddPresetServiceDocument,
  CreateServiceDocument,
  DeleteDeploymentWithVolumesDocument,
  DeployDeploymentDocument,
  ServiceDocument,
  ServiceRuntimeDocument,
  UpdateServiceDocument,
} from '../client/generated/graphql.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { createDeploymentNamed } from './support/api.ts';
import { containerEnv, exec } from './support/docker.ts';
import { infra } from './support/infra.ts';

let t: TestApp;
let deploymentId: string;
let apiId: string;
let dbId: string;

async function createService(input: Record<string, unknown>) {
  const { createService: r } = await t.client.request(CreateServiceDocument, { input: { deploymentId, image: infra().registryImageBusybox, command: 'idle', ...input } as never });
  return r;
}

async function update(input: Record<string, unknown>) {
  const { updateService: r } = await t.client.request(UpdateServiceDocument, { input: input as never });
  return r;
}

async function service(id: string, reveal = false) {
  return (await t.client.request(ServiceDocument, { id, reveal })).service!;
}

beforeAll(async () => {
  t = await startTestApp();
  deploymentId = await createDeploymentNamed(t, 'refs');
  // api is created first, so creation order alone would deploy it before db.
  const api = await createService({ name: 'api', envVars: [{ key: 'PLAIN', value: 'just-a-value' }] });
  if (api.__typename !== 'MutationCreateServiceSuccess') throw new Error(JSON.stringify(api));
  apiId = api.data.id;
  const { addPresetService: db } = await t.client.request(AddPresetServiceDocument, {
    input: { deploymentId, presetId: 'postgresql', name: 'db', overrides: { image: infra().registryImageBusybox, command: 'idle' } },
  });
  if (db.__typename !== 'MutationAddPresetServiceSuccess') throw new Error(JSON.stringify(db));
  dbId = db.data.id;
});

afterAll(async () => {
  if (deploymentId) await t?.client.request(DeleteDeploymentWithVolumesDocument, { id: deploymentId, removeVolumes: true }).catch(() => {});
  await t?.stop();
});

describe('references between services', () => {
  it('refuses unknown services, unknown keys, cycles and malformed references when saved', async () => {
    const unknownService = await update({ id: apiId, setEnvVars: [{ key: 'URL', value: '${{cache.REDIS_URL}}' }] });
    expect(unknownService).toMatchObject({
      __typename: 'ValidationError',
      issues: [{ path: 'setEnvVars[0].value', message: 'references service "cache", which is not in this deployment' }],
    });
    const unknownKey = await createService({ name: 'worker', envVars: [{ key: 'A', value: 'x' }, { key: 'URL', value: '${{db.NOPE}}' }] });
    expect(unknownKey).toMatchObject({
      __typename: 'ValidationError',
      issues: [{ path: 'envVars[1].value', message: 'service "db" has no variable or output named NOPE' }],
    });
    const malformed = await update({ id: apiId, setEnvVars: [{ key: 'URL', value: 'x${{db.}}' }] });
    expect(malformed).toMatchObject({ __typename: 'ValidationError', issues: [{ path: 'setEnvVars[0].value', message: expect.stringContaining('malformed') }] });
    const selfCycle = await update({ id: apiId, setEnvVars: [{ key: 'LOOP', value: 'a-${{LOOP}}' }] });
    expect(selfCycle).toMatchObject({ __typename: 'ValidationError', issues: [{ message: 'reference cycle: api.LOOP → api.LOOP' }] });

    // A cycle across two services: api.B → db.A, then db.A → api.B.
    expect((await update({ id: dbId, setEnvVars: [{ key: 'A', value: 'plain' }] })).__typename).toBe('MutationUpdateServiceSuccess');
    expect((await update({ id: apiId, setEnvVars: [{ key: 'B', value: '${{db.A}}' }] })).__typename).toBe('MutationUpdateServiceSuccess');
    const cycle = await update({ id: dbId, setEnvVars: [{ key: 'A', value: '${{api.B}}' }] });
    expect(cycle).toMatchObject({ __typename: 'ValidationError', issues: [{ path: 'setEnvVars[0].value', message: 'reference cycle: db.A → api.B → db.A' }] });
    expect((await update({ id: apiId, unsetEnvVars: ['B'] })).__typename).toBe('MutationUpdateServiceSuccess');
    expect((await update({ id: dbId, unsetEnvVars: ['A'] })).__typename).toBe('MutationUpdateServiceSuccess');
  });

  it('stores the raw template; readers see pure references but never secrets', async () => {
    const saved = await update({
      id: apiId,
      setEnvVars: [
        { key: 'DATABASE_URL', value: '${{db.DATABASE_URL}}' },
        { key: 'DB_HOST', value: '${{ db.SPUNTO_HOSTNAME }}' },
        { key: 'ME', value: '${{SPUNTO_SERVICE_NAME}} in ${{SPUNTO_DEPLOYMENT_NAME}}' },
        { key: 'SECRET_DSN', value: 'user:hunter2@${{db.PGHOST}}' },
      ],
    });
    expect(saved.__typename).toBe('MutationUpdateServiceSuccess');
    const masked = Object.fromEntries((await service(apiId)).envVars.map((v) => [v.key, v.value]));
    expect(masked).toEqual({
      PLAIN: '••••••••',
      DATABASE_URL: '${{db.DATABASE_URL}}',
      DB_HOST: '${{ db.SPUNTO_HOSTNAME }}',
      ME: '••••••••',
      SECRET_DSN: '••••••••',
    });
    const raw = Object.fromEntries((await service(apiId, true)).revealed.map((v) => [v.key, v.value]));
    expect(raw.SECRET_DSN).toBe('user:hunter2@${{db.PGHOST}}');
  });

  it('refuses changes that would break a service referencing this one', async () => {
    // db's own outputs need the variable.
    const unset = await update({ id: dbId, unsetEnvVars: ['POSTGRES_PASSWORD'] });
    expect(unset).toMatchObject({
      __typename: 'ValidationError',
      issues: expect.arrayContaining([
        { path: 'presetOutputs.DATABASE_URL', message: 'service "db" has no variable or output named POSTGRES_PASSWORD' },
        { path: 'presetOutputs.PGPASSWORD', message: 'service "db" has no variable or output named POSTGRES_PASSWORD' },
      ]),
    });
    // Another service needs the variable.
    expect((await update({ id: dbId, setEnvVars: [{ key: 'EXTRA', value: 'x' }] })).__typename).toBe('MutationUpdateServiceSuccess');
    expect((await update({ id: apiId, setEnvVars: [{ key: 'USES_EXTRA', value: '${{db.EXTRA}}' }] })).__typename).toBe('MutationUpdateServiceSuccess');
    const unsetUsed = await update({ id: dbId, unsetEnvVars: ['EXTRA'] });
    expect(unsetUsed).toMatchObject({
      __typename: 'ValidationError',
      issues: [{ path: 'envVars', message: 'service "api" depends on it (USES_EXTRA): service "db" has no variable or output named EXTRA' }],
    });
    expect((await update({ id: apiId, unsetEnvVars: ['USES_EXTRA'] })).__typename).toBe('MutationUpdateServiceSuccess');
    const renamed = await update({ id: dbId, name: 'database' });
    expect(renamed).toMatchObject({
      __typename: 'ValidationError',
      issues: expect.arrayContaining([
        { path: 'name', message: 'service "api" depends on it (DATABASE_URL): references service "db", which is not in this deployment' },
      ]),
    });
    expect((await service(dbId)).name).toBe('db');
  });

  it('deploys db before api and resolves the references into api’s environment', async () => {
    const { deployDeployment } = await t.client.request(DeployDeploymentDocument, { id: deploymentId, wait: true });
    if (deployDeployment.__typename !== 'MutationDeployDeploymentSuccess') throw new Error(JSON.stringify(deployDeployment));
    const [first, second] = deployDeployment.data;
    const db = await service(dbId, true);
    const api = (await t.client.request(ServiceRuntimeDocument, { id: apiId })).service!;
    const dbRuntime = (await t.client.request(ServiceRuntimeDocument, { id: dbId })).service!;
    expect([first.containerId, second.containerId]).toEqual([dbRuntime.containerId, api.containerId]);
    expect(Date.parse(second.startedAt!)).toBeGreaterThanOrEqual(Date.parse(first.finishedAt!));

    const password = db.revealed.find((v) => v.key === 'POSTGRES_PASSWORD')!.value;
    const env = await containerEnv(api.containerId!);
    expect(env).toMatchObject({
      DATABASE_URL: `postgresql://app:${password}@db:5432/app`,
      DB_HOST: 'db',
      ME: 'api in refs',
      SECRET_DSN: 'user:hunter2@db',
      PLAIN: 'just-a-value',
    });
    // The hostname the reference resolved to reaches db on the deployment network.
    expect((await exec(api.containerId!, ['sh', '-c', 'nslookup "$DB_HOST" >/dev/null && echo resolved'])).output).toContain('resolved');
  });
});
