// The seed's lifecycle on a real engine and registry: Deploy force-pulls, Start does
// not, hooks gate the swap, failures leave the running container serving.
import { mkdtemp, mkdir, symlink, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeleteDeploymentWithVolumesDocument,
  DeployDeploymentDocument,
  DeployRunDocument,
  DeployServiceDocument,
  RollbackServiceDocument,
  ServiceRuntimeDocument,
  StartServiceDocument,
  StopServiceDocument,
  UpdateServiceDocument,
  type DeployRunFieldsFragment,
} from '../client/generated/graphql.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { createDeploymentNamed, createServiceIn, deployAndWait } from './support/api.ts';
import { docker, exec, fetchFromContainer, ownedBy, pushWeb } from './support/docker.ts';
import { infra } from './support/infra.ts';

const tag = `lc-${Date.now().toString(36)}`;
let t: TestApp;
let bindRoot: string;
let deploymentId: string;
let webImage: string;

const createService = (input: Record<string, unknown>) => createServiceIn(t, deploymentId, input);
const deploy = (id: string) => deployAndWait(t, id);

async function runtime(id: string) {
  const { service } = await t.client.request(ServiceRuntimeDocument, { id });
  return service!;
}

async function waitForRun(id: string) {
  for (let i = 0; i < 600; i++) {
    const { deployRun } = await t.client.request(DeployRunDocument, { id });
    if (deployRun && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(deployRun.status)) return deployRun;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run ${id} did not finish`);
}

/** This file's hook containers (other test files run hooks at the same time). */
async function hookContainers() {
  return docker().listContainers({ all: true, filters: { label: ['spunto.role=hook', `spunto.deployment=${deploymentId}`] } });
}

beforeAll(async () => {
  bindRoot = await mkdtemp(path.join(os.tmpdir(), 'spunto-binds-'));
  webImage = await pushWeb(tag, 'v1');
  t = await startTestApp({ env: { SPUNTO_BIND_ROOTS: bindRoot, SPUNTO_HOOK_TIMEOUT_SECONDS: '3' } });
  deploymentId = await createDeploymentNamed(t, 'lifecycle');
}, 180_000);

afterAll(async () => {
  if (deploymentId) await t?.client.request(DeleteDeploymentWithVolumesDocument, { id: deploymentId, removeVolumes: true }).catch(() => {});
  await t?.stop();
  await rm(bindRoot, { recursive: true, force: true });
});

describe('deploy, start, hooks and rollback of one service', () => {
  let webId: string;
  let v1Run: DeployRunFieldsFragment;

  it('refuses to start a service that was never deployed', async () => {
    webId = await createService({ name: 'web', image: webImage, httpPort: 8080 });
    const { startService } = await t.client.request(StartServiceDocument, { id: webId });
    expect(startService.__typename).toBe('NotDeployedError');
  });

  it('deploys v1: pulls, records the digest, serves it on a loopback port', async () => {
    v1Run = await deploy(webId);
    expect(v1Run).toMatchObject({ kind: 'DEPLOY', status: 'SUCCEEDED', imageChanged: null, hookExitCode: null });
    expect(v1Run.imageDigest).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(v1Run.steps.map((s) => [s.name, s.status])).toEqual([
      ['pull', 'SUCCEEDED'],
      ['swap', 'SUCCEEDED'],
    ]);
    const service = await runtime(webId);
    expect(service.status).toBe('RUNNING');
    expect(await fetchFromContainer(service.containerId!)).toBe('v1');
    const info = await docker().getContainer(service.containerId!).inspect();
    expect(info.Name).toBe(`/mp-svc-${webId}`);
    expect(info.Config.Labels).toMatchObject({ 'spunto.deployment': deploymentId, 'spunto.service': webId, 'spunto.role': 'service' });
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([`mp-dep-${deploymentId}`]);
    expect(info.HostConfig.PortBindings['8080/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: '' }]);
  });

  it('Start keeps v1 after v2 is pushed under the same tag; Deploy runs v2', async () => {
    await pushWeb(tag, 'v2');
    const before = await runtime(webId);
    const { startService } = await t.client.request(StartServiceDocument, { id: webId });
    expect(startService).toMatchObject({ __typename: 'MutationStartServiceSuccess', data: { kind: 'START', status: 'SUCCEEDED' } });
    const afterStart = await runtime(webId);
    expect(afterStart.containerId).toBe(before.containerId);
    expect(await fetchFromContainer(afterStart.containerId!)).toBe('v1');

    const v2Run = await deploy(webId);
    expect(v2Run.imageChanged).toBe(true);
    expect(v2Run.imageDigest).not.toBe(v1Run.imageDigest);
    const afterDeploy = await runtime(webId);
    expect(afterDeploy.containerId).not.toBe(before.containerId);
    expect(await fetchFromContainer(afterDeploy.containerId!)).toBe('v2');
    // The old container is gone, not merely stopped.
    const containers = await docker().listContainers({ all: true, filters: { label: [`spunto.service=${webId}`] } });
    expect(containers.map((c) => c.Id)).toEqual([afterDeploy.containerId]);
  });

  it('runs a hook that exits 0 before the swap, while the old container still serves', async () => {
    await t.client.request(UpdateServiceDocument, {
      input: { id: webId, preDeployCommand: 'sh -c "echo hook-start; wget -qO- http://web:8080; echo; echo hook-end"' },
    });
    const before = await runtime(webId);
    const run = await deploy(webId);
    expect(run).toMatchObject({ status: 'SUCCEEDED', hookExitCode: 0, hookTimedOut: false });
    // The hook reached the old container by service name: it ran before the swap.
    expect(run.hookOutput).toContain('hook-start\nv2\nhook-end');
    expect(run.steps.map((s) => s.name)).toEqual(['pull', 'hook', 'swap']);
    const service = await runtime(webId);
    expect(service.containerId).not.toBe(before.containerId);
    const states = service.transitions.filter((tr) => tr.deployRunId === run.id).map((tr) => tr.to).reverse();
    expect(states).toEqual(['PULLING', 'RUNNING_HOOK', 'STARTING', 'RUNNING']);
    expect(await hookContainers()).toEqual([]);
  });

  it('a hook that exits 3 aborts: ERROR with its output, the running container untouched', async () => {
    await t.client.request(UpdateServiceDocument, {
      input: { id: webId, preDeployCommand: 'sh -c "echo migrating; echo boom >&2; exit 3"' },
    });
    const before = await runtime(webId);
    const { deployService: r } = await t.client.request(DeployServiceDocument, { id: webId, wait: true });
    expect(r.__typename).toBe('DeployFailedError');
    if (r.__typename !== 'DeployFailedError') return;
    expect(r.code).toBe('HOOK_FAILED');
    expect(r.deployRun).toMatchObject({ status: 'FAILED', hookExitCode: 3, hookTimedOut: false });
    expect(r.deployRun.hookOutput).toContain('migrating');
    expect(r.deployRun.hookOutput).toContain('boom');
    const service = await runtime(webId);
    expect(service.status).toBe('ERROR');
    expect(service.statusReason).toContain('exited with code 3');
    expect(service.containerId).toBe(before.containerId);
    expect(await fetchFromContainer(service.containerId!)).toBe('v2');
    expect(await hookContainers()).toEqual([]);
  });

  it('a hook that times out aborts the same way and leaves no hook container', async () => {
    await t.client.request(UpdateServiceDocument, { input: { id: webId, preDeployCommand: 'sleep 60' } });
    const before = await runtime(webId);
    const { deployService: r } = await t.client.request(DeployServiceDocument, { id: webId, wait: true });
    expect(r).toMatchObject({ __typename: 'DeployFailedError', code: 'HOOK_TIMEOUT' });
    if (r.__typename !== 'DeployFailedError') return;
    expect(r.deployRun).toMatchObject({ hookTimedOut: true, hookExitCode: null });
    const service = await runtime(webId);
    expect(service.status).toBe('ERROR');
    expect(service.containerId).toBe(before.containerId);
    expect(await fetchFromContainer(service.containerId!)).toBe('v2');
    expect(await hookContainers()).toEqual([]);
  });

  it('serialises concurrent deploys of one service', async () => {
    await t.client.request(UpdateServiceDocument, { input: { id: webId, preDeployCommand: null } });
    const queued = await Promise.all(
      [1, 2, 3].map(async () => {
        const { deployService: r } = await t.client.request(DeployServiceDocument, { id: webId, wait: false });
        if (r.__typename !== 'MutationDeployServiceSuccess') throw new Error(JSON.stringify(r));
        return r.data.id;
      }),
    );
    const runs = await Promise.all(queued.map(waitForRun));
    expect(runs.map((r) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    const spans = runs.map((r) => [Date.parse(r.startedAt!), Date.parse(r.finishedAt!)]).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
    const service = await runtime(webId);
    expect(service.status).toBe('RUNNING');
    expect(await fetchFromContainer(service.containerId!)).toBe('v2');
  });

  it('rolls back to v1: the exact digest, and the configuration of that run', async () => {
    const { rollbackService: r } = await t.client.request(RollbackServiceDocument, { deployRunId: v1Run.id, wait: true });
    if (r.__typename !== 'MutationRollbackServiceSuccess') throw new Error(JSON.stringify(r));
    expect(r.data).toMatchObject({ kind: 'ROLLBACK', status: 'SUCCEEDED', imageDigest: v1Run.imageDigest, rollbackOfId: v1Run.id });
    const service = await runtime(webId);
    expect(await fetchFromContainer(service.containerId!)).toBe('v1');
  });

  it('stops and starts again', async () => {
    const { stopService } = await t.client.request(StopServiceDocument, { id: webId });
    expect(stopService).toMatchObject({ __typename: 'MutationStopServiceSuccess', data: { status: 'STOPPED' } });
    const service = await runtime(webId);
    expect((await docker().getContainer(service.containerId!).inspect()).State.Running).toBe(false);
    const { startService } = await t.client.request(StartServiceDocument, { id: webId });
    expect(startService.__typename).toBe('MutationStartServiceSuccess');
    expect((await runtime(webId)).status).toBe('RUNNING');
    expect(await fetchFromContainer(service.containerId!)).toBe('v1');
  });
});

describe('deployDeployment without wait', () => {
  /** A deployment of its own, with busybox services; `first` may be given another image. */
  async function chain(firstImage: string) {
    const id = await createDeploymentNamed(t, `chain-${Date.now().toString(36)}`);
    const first = await createServiceIn(t, id, { name: 'first', image: firstImage, command: 'idle' });
    const second = await createServiceIn(t, id, { name: 'second', image: infra().registryImageBusybox, command: 'idle' });
    return { id, first, second };
  }

  it('returns the runs pending, then runs them one after another', async () => {
    const { id, first, second } = await chain(infra().registryImageBusybox);
    try {
      const { deployDeployment } = await t.client.request(DeployDeploymentDocument, { id, wait: false });
      if (deployDeployment.__typename !== 'MutationDeployDeploymentSuccess') throw new Error(JSON.stringify(deployDeployment));
      expect(deployDeployment.data.map((r) => r.status)).toEqual(['PENDING', 'PENDING']);
      const [a, b] = await Promise.all(deployDeployment.data.map((r) => waitForRun(r.id)));
      expect([a.status, b.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
      expect(Date.parse(b.startedAt!)).toBeGreaterThanOrEqual(Date.parse(a.finishedAt!));
      expect([(await runtime(first)).status, (await runtime(second)).status]).toEqual(['RUNNING', 'RUNNING']);
    } finally {
      await t.client.request(DeleteDeploymentWithVolumesDocument, { id, removeVolumes: true });
    }
  });

  it('cancels the runs after one that failed, leaving their services untouched', async () => {
    const { id, second } = await chain(`${infra().registry}/spunto/does-not-exist:latest`);
    try {
      const { deployDeployment } = await t.client.request(DeployDeploymentDocument, { id, wait: false });
      if (deployDeployment.__typename !== 'MutationDeployDeploymentSuccess') throw new Error(JSON.stringify(deployDeployment));
      const [a, b] = await Promise.all(deployDeployment.data.map((r) => waitForRun(r.id)));
      expect([a.status, a.errorCode]).toEqual(['FAILED', 'IMAGE_NOT_FOUND']);
      expect([b.status, b.errorCode]).toEqual(['CANCELLED', 'PREVIOUS_FAILED']);
      expect(b.startedAt).toBeNull();
      expect((await runtime(second)).containerId).toBeNull();
    } finally {
      await t.client.request(DeleteDeploymentWithVolumesDocument, { id, removeVolumes: true });
    }
  });
});

describe('services of one deployment together', () => {
  let probeId: string;

  it('reach each other by service name, and volume data survives a redeploy', async () => {
    probeId = await createService({
      name: 'probe',
      image: infra().registryImageBusybox,
      command: 'idle',
      volumes: [{ name: 'data', mountPath: '/data' }],
    });
    const { deployDeployment } = await t.client.request(DeployDeploymentDocument, { id: deploymentId, wait: true });
    expect(deployDeployment.__typename).toBe('MutationDeployDeploymentSuccess');
    const probe = await runtime(probeId);
    // deployDeployment redeployed web too, force-pulling its tag: v2 again.
    const reached = await exec(probe.containerId!, ['wget', '-qO-', 'http://web:8080']);
    expect(reached).toEqual({ output: 'v2', exitCode: 0 });

    expect((await exec(probe.containerId!, ['sh', '-c', 'echo keep-me > /data/file'])).exitCode).toBe(0);
    await deploy(probeId);
    const redeployed = await runtime(probeId);
    expect(redeployed.containerId).not.toBe(probe.containerId);
    expect(await exec(redeployed.containerId!, ['cat', '/data/file'])).toEqual({ output: 'keep-me\n', exitCode: 0 });
    const volume = await docker().getVolume(`mp-vol-${deploymentId}-data`).inspect();
    expect(volume.Labels).toMatchObject({ 'spunto.deployment': deploymentId });
  });

  it('refuses at deploy time a bind whose real path escapes the allowed root', async () => {
    await mkdir(path.join(bindRoot, 'ok'));
    await writeFile(path.join(bindRoot, 'ok', 'config.yml'), 'a: 1\n');
    await symlink('/etc', path.join(bindRoot, 'escape'));
    const okId = await createService({
      name: 'binds',
      image: infra().registryImageBusybox,
      command: 'idle',
      fileBinds: [{ hostPath: path.join(bindRoot, 'ok', 'config.yml'), containerPath: '/config.yml', readOnly: true }],
    });
    const ok = await deploy(okId);
    expect(await exec(ok.containerId!, ['cat', '/config.yml'])).toEqual({ output: 'a: 1\n', exitCode: 0 });

    const sneakyId = await createService({
      name: 'sneaky',
      image: infra().registryImageBusybox,
      command: 'idle',
      fileBinds: [{ hostPath: path.join(bindRoot, 'escape', 'hostname'), containerPath: '/h' }],
    });
    const { deployService: r } = await t.client.request(DeployServiceDocument, { id: sneakyId, wait: true });
    expect(r).toMatchObject({ __typename: 'DeployFailedError', code: 'VALIDATION_FAILED' });
    expect(await docker().listContainers({ all: true, filters: { label: [`spunto.service=${sneakyId}`] } })).toEqual([]);
  });

  it('reports a missing image as a typed Docker failure and creates nothing', async () => {
    const id = await createService({ name: 'ghost', image: `${infra().registry}/spunto/does-not-exist:${tag}` });
    const { deployService: r } = await t.client.request(DeployServiceDocument, { id, wait: true });
    expect(r).toMatchObject({ __typename: 'DeployFailedError', code: 'IMAGE_NOT_FOUND' });
    if (r.__typename === 'DeployFailedError') expect(r.message.length).toBeGreaterThan(10);
    expect((await runtime(id)).status).toBe('ERROR');
    expect(await docker().listContainers({ all: true, filters: { label: [`spunto.service=${id}`] } })).toEqual([]);
  });

  it('deleting the deployment leaves no container or network behind', async () => {
    const before = await ownedBy(deploymentId);
    expect(before.containers.length).toBeGreaterThanOrEqual(3);
    expect(before.networks).toHaveLength(1);
    const { deleteDeployment } = await t.client.request(DeleteDeploymentWithVolumesDocument, { id: deploymentId, removeVolumes: true });
    expect(deleteDeployment.__typename).toBe('MutationDeleteDeploymentSuccess');
    const after = await ownedBy(deploymentId);
    expect(after).toEqual({ containers: [], networks: [] });
    const volumes = await docker().listVolumes({ filters: { label: [`spunto.deployment=${deploymentId}`] } });
    expect(volumes.Volumes ?? []).toEqual([]);
    deploymentId = '';
  });
});
