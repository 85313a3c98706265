// Deploy run events and state transitions, streamed over graphql-ws and SSE.
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateServiceDocument,
  DeleteDeploymentWithVolumesDocument,
  DeployServiceDocument,
  ServiceRuntimeDocument,
} from '../client/generated/graphql.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { createDeploymentNamed } from './support/api.ts';
import { docker } from './support/docker.ts';
import { infra } from './support/infra.ts';
import { sseSubscribe, wsSubscribe } from './support/subscriptions.ts';

const RUN_EVENTS = `subscription ($id: ID!) {
  deployRunEvents(deployRunId: $id) { seq type step status message stream line exitCode timedOut error }
}`;
const STATE = `subscription ($serviceId: ID, $deploymentId: ID) {
  serviceStateChanged(serviceId: $serviceId, deploymentId: $deploymentId) { serviceId from to reason exitCode deployRunId at }
}`;

interface RunEvent {
  deployRunEvents: { seq: number; type: string; step: string | null; status: string | null; line: string | null; exitCode: number | null };
}
interface StateEvent {
  serviceStateChanged: { serviceId: string; from: string; to: string; reason: string; exitCode: number | null };
}

async function setUp(t: TestApp, name: string) {
  return await createDeploymentNamed(t, name);
}

async function addService(t: TestApp, deploymentId: string, input: Record<string, unknown>) {
  const { createService } = await t.client.request(CreateServiceDocument, { input: { deploymentId, ...input } as never });
  if (createService.__typename !== 'MutationCreateServiceSuccess') throw new Error(JSON.stringify(createService));
  return createService.data.id;
}

const finished = (results: { data?: RunEvent }[]) => results.some((r) => r.data?.deployRunEvents.type === 'FINISHED');

describe('deployRunEvents and serviceStateChanged on one instance', () => {
  let t: TestApp;
  let deploymentId: string;

  beforeAll(async () => {
    t = await startTestApp();
    deploymentId = await setUp(t, 'events');
  });
  afterAll(async () => {
    await t.client.request(DeleteDeploymentWithVolumesDocument, { id: deploymentId, removeVolumes: true }).catch(() => {});
    await t.stop();
  });

  it('streams a failing hook run live and replays it whole to late subscribers, on both transports', async () => {
    const serviceId = await addService(t, deploymentId, {
      name: 'hooked',
      image: infra().registryImageBusybox,
      command: 'idle',
      preDeployCommand: 'sh -c "echo one; echo two >&2; echo three; exit 3"',
    });
    const { deployService } = await t.client.request(DeployServiceDocument, { id: serviceId, wait: false });
    if (deployService.__typename !== 'MutationDeployServiceSuccess') throw new Error(JSON.stringify(deployService));
    const runId = deployService.data.id;

    const live = wsSubscribe<RunEvent>(t.url, t.adminToken, RUN_EVENTS, { id: runId });
    await live.until(finished);
    await live.done;
    const liveEvents = live.results.map((r) => r.data!.deployRunEvents);

    // What the run went through, in order, numbered without gaps.
    expect(liveEvents.map((e) => e.seq)).toEqual(liveEvents.map((_, i) => i + 1));
    const hookLines = liveEvents.filter((e) => e.type === 'HOOK_OUTPUT').map((e) => e.line);
    expect(hookLines).toEqual(expect.arrayContaining(['one', 'two', 'three']));
    expect(liveEvents.find((e) => e.type === 'HOOK_EXITED')).toMatchObject({ exitCode: 3, timedOut: false });
    expect(liveEvents.at(-1)).toMatchObject({ type: 'FINISHED', status: 'FAILED' });
    expect(liveEvents.filter((e) => e.type === 'STEP').map((e) => `${e.step}:${e.status}`)).toEqual([
      'pull:STARTED',
      'pull:SUCCEEDED',
      'hook:STARTED',
      'hook:FAILED',
    ]);

    // Late subscribers, after the run ended: the same events, then the stream completes.
    for (const late of [
      wsSubscribe<RunEvent>(t.url, t.adminToken, RUN_EVENTS, { id: runId }),
      sseSubscribe<RunEvent>(t.url, t.adminToken, RUN_EVENTS, { id: runId }),
    ]) {
      await late.done;
      expect(late.results.map((r) => r.data!.deployRunEvents)).toEqual(liveEvents);
    }
  });

  it('a subscriber that joins mid-run gets what happened first, then live events, without gaps', async () => {
    const serviceId = await addService(t, deploymentId, {
      name: 'slowhook',
      image: infra().registryImageBusybox,
      command: 'idle',
      preDeployCommand: 'sh -c "for i in 1 2 3 4 5 6; do echo line $i; sleep 0.3; done"',
    });
    const { deployService } = await t.client.request(DeployServiceDocument, { id: serviceId, wait: false });
    if (deployService.__typename !== 'MutationDeployServiceSuccess') throw new Error('deploy');
    const early = wsSubscribe<RunEvent>(t.url, t.adminToken, RUN_EVENTS, { id: deployService.data.id });
    await early.until((rs) => rs.some((r) => r.data?.deployRunEvents.line === 'line 3'));
    const joined = sseSubscribe<RunEvent>(t.url, t.adminToken, RUN_EVENTS, { id: deployService.data.id });
    await Promise.all([early.done, joined.done]);
    const a = early.results.map((r) => r.data!.deployRunEvents);
    const b = joined.results.map((r) => r.data!.deployRunEvents);
    expect(b).toEqual(a);
    expect(a.filter((e) => e.type === 'HOOK_OUTPUT').map((e) => e.line)).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5', 'line 6']);
    expect(a.at(-1)).toMatchObject({ type: 'FINISHED', status: 'SUCCEEDED' });
  });

  it('streams every transition of a deploy and a crash caused outside the API (docker kill)', async () => {
    const serviceId = await addService(t, deploymentId, { name: 'victim', image: infra().registryImageBusybox, command: 'idle' });
    const byDeployment = wsSubscribe<StateEvent>(t.url, t.adminToken, STATE, { deploymentId });
    const byService = sseSubscribe<StateEvent>(t.url, t.adminToken, STATE, { serviceId });
    await new Promise((r) => setTimeout(r, 300)); // both subscriptions registered
    const { deployService } = await t.client.request(DeployServiceDocument, { id: serviceId, wait: true });
    if (deployService.__typename !== 'MutationDeployServiceSuccess') throw new Error('deploy');

    await docker().getContainer(deployService.data.containerId!).kill();
    const crashed = (rs: { data?: StateEvent }[]) => rs.some((r) => r.data?.serviceStateChanged.to === 'CRASHED');
    await byService.until(crashed);
    await byDeployment.until(crashed);

    const seen = byService.results.map((r) => r.data!.serviceStateChanged);
    expect(seen.map((e) => e.to)).toEqual(['PULLING', 'STARTING', 'RUNNING', 'CRASHED']);
    expect(seen.at(-1)).toMatchObject({ from: 'RUNNING', exitCode: 137 });
    expect(seen.at(-1)!.reason).toContain('137');
    expect(byDeployment.results.filter((r) => r.data?.serviceStateChanged.serviceId === serviceId).map((r) => r.data!.serviceStateChanged.to)).toEqual(seen.map((e) => e.to));
    const { service } = await t.client.request(ServiceRuntimeDocument, { id: serviceId });
    expect(service).toMatchObject({ status: 'CRASHED', lastExitCode: 137 });
    await Promise.all([byService.close(), byDeployment.close()]);
  });

  it('answers typed errors for what does not exist, and 401 without a token over SSE', async () => {
    const missingRun = wsSubscribe<RunEvent>(t.url, t.adminToken, RUN_EVENTS, { id: 'nope' });
    await missingRun.done;
    expect(missingRun.results[0].errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const missingService = sseSubscribe<StateEvent>(t.url, t.adminToken, STATE, { serviceId: 'nope' });
    await missingService.done;
    expect(missingService.results[0].errors?.[0].message).toContain('not found');
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: STATE, variables: { serviceId: 'x' } }),
    });
    expect(res.status).toBe(401);
    await res.body?.cancel();
  });
});

describe('the Docker event watcher across an engine disconnect', () => {
  it('reconnects and resyncs: a container killed while disconnected shows CRASHED', async () => {
    // A real unix-socket relay in front of the engine; cutting it is, for the API, the
    // engine going away and coming back.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spunto-relay-'));
    const relayPath = path.join(dir, 'docker.sock');
    const enginePath = new URL(infra().dockerHost).pathname;
    const open = new Set<net.Socket>();
    let accepting = true;
    const relay = net.createServer((client) => {
      if (!accepting) return client.destroy();
      const upstream = net.connect(enginePath);
      open.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        open.delete(client);
        open.delete(upstream);
      };
      client.on('close', drop).on('error', drop);
      upstream.on('close', drop).on('error', drop);
    });
    await new Promise<void>((resolve) => relay.listen(relayPath, resolve));
    const t = await startTestApp({ env: { DOCKER_HOST: `unix://${relayPath}` } });
    try {
      const deploymentId = await setUp(t, 'relay');
      const serviceId = await addService(t, deploymentId, { name: 'victim', image: infra().registryImageBusybox, command: 'idle' });
      const { deployService } = await t.client.request(DeployServiceDocument, { id: serviceId, wait: true });
      if (deployService.__typename !== 'MutationDeployServiceSuccess') throw new Error('deploy');
      expect(t.app.watchers[0].connections).toBe(1);

      accepting = false;
      for (const socket of open) socket.destroy();
      await docker().getContainer(deployService.data.containerId!).kill();
      accepting = true;

      for (let i = 0; i < 100 && t.app.watchers[0].connections < 2; i++) await new Promise((r) => setTimeout(r, 200));
      expect(t.app.watchers[0].connections).toBe(2);
      let status = '';
      for (let i = 0; i < 50 && status !== 'CRASHED'; i++) {
        status = (await t.client.request(ServiceRuntimeDocument, { id: serviceId })).service!.status;
        if (status !== 'CRASHED') await new Promise((r) => setTimeout(r, 100));
      }
      const { service } = await t.client.request(ServiceRuntimeDocument, { id: serviceId });
      expect(service).toMatchObject({ status: 'CRASHED', lastExitCode: 137 });
      expect(service!.transitions[0].reason).toContain('found exited with code 137');
      await t.client.request(DeleteDeploymentWithVolumesDocument, { id: deploymentId, removeVolumes: true });
    } finally {
      await t.stop();
      relay.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
