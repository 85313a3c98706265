// The edge proxy on real containers: default hostnames over HTTP, unknown hosts, forwarded
// headers, WebSocket upgrades, streamed responses, and routes that follow deploys and stops.
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeleteDeploymentWithVolumesDocument,
  ServiceDomainDocument,
  StartServiceDocument,
  StopServiceDocument,
} from '../client/generated/graphql.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { createDeploymentNamed, createServiceIn, deployAndWait } from './support/api.ts';
import { exec, pushWeb } from './support/docker.ts';
import { edgeRequest, freePort, UPSTREAM_SCRIPT } from './support/edge.ts';
import { infra } from './support/infra.ts';

const BASE = 'spunto.test';
const tag = `edge-${Date.now().toString(36)}`;
let t: TestApp;
let bindRoot: string;
let deploymentId: string;
let edgePort: number;

const createService = (input: Record<string, unknown>) => createServiceIn(t, deploymentId, input);
const deploy = async (id: string) => void (await deployAndWait(t, id));

async function service(id: string) {
  const { service } = await t.client.request(ServiceDomainDocument, { id });
  return service!;
}

const get = (host: string, requestPath = '/', headers: Record<string, string> = {}) =>
  edgeRequest({ port: edgePort, host, path: requestPath, headers });

beforeAll(async () => {
  bindRoot = await mkdtemp(path.join(os.tmpdir(), 'spunto-edge-'));
  await copyFile(UPSTREAM_SCRIPT, path.join(bindRoot, 'upstream.sh'));
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  t = await startTestApp({
    env: {
      SPUNTO_EDGE_HTTP_PORT: String(httpPort),
      SPUNTO_EDGE_HTTPS_PORT: String(httpsPort),
      SPUNTO_BASE_DOMAIN: BASE,
      SPUNTO_BIND_ROOTS: bindRoot,
    },
  });
  edgePort = t.app.edge.httpPort!;
  deploymentId = await createDeploymentNamed(t, 'edge');
}, 180_000);

afterAll(async () => {
  if (deploymentId) await t?.client.request(DeleteDeploymentWithVolumesDocument, { id: deploymentId, removeVolumes: true }).catch(() => {});
  await t?.stop();
  await rm(bindRoot, { recursive: true, force: true });
});

describe('the edge proxy', () => {
  let webId: string;
  let upstreamId: string;

  it('listens on the configured ports', () => {
    expect(t.app.edge.httpPort).toBe(Number(t.app.config.edge.httpPort));
    expect(t.app.edge.httpsPort).toBe(Number(t.app.config.edge.httpsPort));
  });

  it('routes the default hostname over HTTP to the service container', async () => {
    webId = await createService({ name: 'web', image: await pushWeb(tag, 'edge v1'), httpPort: 8080 });
    await deploy(webId);
    const web = await service(webId);
    expect(web.defaultHostname).toBe(`web.edge.${BASE}`);
    const res = await get(web.defaultHostname);
    expect(res).toMatchObject({ status: 200, body: 'edge v1' });
    // Host matching ignores case, a port and a trailing dot.
    expect((await get(`WEB.Edge.${BASE}.:${edgePort}`)).body).toBe('edge v1');
    // busybox httpd closes every connection; the client's connection to the edge stays open.
    const kept = await get(web.defaultHostname, '/', { connection: 'keep-alive' });
    expect(kept.headers.connection).toBe('keep-alive');
  });

  it('answers 404 with a page for unknown hosts', async () => {
    for (const host of [`nope.edge.${BASE}`, `web.elsewhere.${BASE}`, 'example.org', '']) {
      const res = await get(host);
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.body).toContain('Unknown host');
    }
  });

  it('sets X-Forwarded-For, -Proto and -Host, appending to a forwarded-for chain', async () => {
    upstreamId = await createService({
      name: 'upstream',
      image: infra().registryImageBusybox,
      httpPort: 8080,
      command: 'nc -ll -p 8080 -e sh /srv/upstream.sh',
      fileBinds: [{ hostPath: path.join(bindRoot, 'upstream.sh'), containerPath: '/srv/upstream.sh', readOnly: true }],
    });
    await deploy(upstreamId);
    const host = `upstream.edge.${BASE}`;
    const res = await get(`${host}:${edgePort}`, '/headers', { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' });
    expect(res.status).toBe(200);
    const headers = Object.fromEntries(
      res.body
        .trim()
        .split('\n')
        .map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
    );
    expect(headers).toMatchObject({
      host: `${host}:${edgePort}`,
      'x-forwarded-for': '203.0.113.7, 127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': `${host}:${edgePort}`,
      'x-forwarded-port': String(edgePort),
    });
  });

  it('proxies a WebSocket upgrade both ways', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${edgePort}/ws`, { headers: { host: `upstream.edge.${BASE}` } });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hello über the edge'));
      ws.once('message', (data) => resolve(data.toString()));
      ws.once('error', reject);
    });
    ws.terminate();
    expect(reply).toBe('echo:hello über the edge');
  });

  it('refuses a WebSocket upgrade for an unknown host with a 404', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${edgePort}/ws`, { headers: { host: `ghost.edge.${BASE}` } });
    const status = await new Promise<number>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('error', () => resolve(-1));
    });
    ws.terminate();
    expect(status).toBe(404);
  });

  it('streams a response chunk by chunk instead of buffering it', async () => {
    const { containerId } = await service(upstreamId);
    const chunks: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: edgePort, path: '/stream', headers: { host: `upstream.edge.${BASE}` }, agent: false },
        (res) => {
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            chunks.push(chunk);
            // The upstream holds the second chunk until /tmp/go exists: only a streamed first chunk gets us here.
            if (chunks.length === 1) void exec(containerId!, ['touch', '/tmp/go']).catch(reject);
          });
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end();
    });
    await done;
    expect(chunks[0]).toBe('first\n');
    expect(chunks.join('')).toBe('first\nsecond\n');
  });

  it('follows a redeploy to the new container without a restart', async () => {
    const before = await service(webId);
    await pushWeb(tag, 'edge v2');
    await deploy(webId);
    const after = await service(webId);
    expect(after.containerId).not.toBe(before.containerId);
    expect(await get(`web.edge.${BASE}`)).toMatchObject({ status: 200, body: 'edge v2' });
  });

  it('answers 503 while a service is stopped and routes again once it is started', async () => {
    const { stopService } = await t.client.request(StopServiceDocument, { id: webId });
    expect(stopService.__typename).toBe('MutationStopServiceSuccess');
    const stopped = await get(`web.edge.${BASE}`);
    expect(stopped.status).toBe(503);
    expect(stopped.body).toContain('not running (stopped)');
    const { startService } = await t.client.request(StartServiceDocument, { id: webId });
    expect(startService.__typename).toBe('MutationStartServiceSuccess');
    expect(await get(`web.edge.${BASE}`)).toMatchObject({ status: 200, body: 'edge v2' });
  });

  it('answers 502 when the running container does not answer on its HTTP port', async () => {
    // The web image listens on 8080; this service publishes 9090, where nothing answers.
    const muteId = await createService({ name: 'mute', image: infra().registryImageWeb, httpPort: 9090 });
    await deploy(muteId);
    const res = await get(`mute.edge.${BASE}`);
    expect(res.status).toBe(502);
    expect(res.body).toContain('did not answer on its HTTP port 9090');
  });

  it('answers 503 for a service never deployed and 404 for one without an HTTP port', async () => {
    await createService({ name: 'idle', image: infra().registryImageWeb, httpPort: 8080 });
    const idle = await get(`idle.edge.${BASE}`);
    expect(idle.status).toBe(503);
    expect(idle.body).toContain('not running (created)');
    await createService({ name: 'worker', image: infra().registryImageBusybox });
    const worker = await get(`worker.edge.${BASE}`);
    expect(worker.status).toBe(404);
    expect(worker.body).toContain('exposes no HTTP port');
  });
});
