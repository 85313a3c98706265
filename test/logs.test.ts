// serviceLogs against a real engine, through real clients: graphql-ws and SSE on a
// running server, containers deployed through the API (one TTY container made directly).
import { print } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateApiTokenDocument,
  DeleteDeploymentWithVolumesDocument,
  DeleteServiceDocument,
  ServiceLogsDocument,
  ServiceRuntimeDocument,
  StartServiceDocument,
  StopServiceDocument,
  type ServiceLogsSubscription,
  type ServiceLogsSubscriptionVariables,
} from '../client/generated/graphql.ts';
import { labelsFor } from '../services/docker/names.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { createDeploymentNamed, createServiceIn, deployAndWait } from './support/api.ts';
import { docker } from './support/docker.ts';
import { infra } from './support/infra.ts';

type LogEvent = ServiceLogsSubscription['serviceLogs'][number];
type Result = { data?: ServiceLogsSubscription | null; errors?: readonly { message: string; extensions?: Record<string, unknown> }[] };

const QUERY = print(ServiceLogsDocument);
// Quick to stop (the trap), one stdout and one stderr line every 0.2 s, numbered.
const TALKER = `sh -c "trap 'exit 0' TERM; i=0; while true; do echo out $i; echo err $i >&2; i=$((i+1)); sleep 0.2; done"`;
const FLOOD = `sh -c "trap 'exit 0' TERM; while true; do echo flood line with a little padding to make it longer than short; done"`;

let t: TestApp;
let deploymentId: string;
let talkerId: string;

/** Everything one subscription received, with waits on conditions over it. */
class Collector {
  readonly batches: LogEvent[][] = [];
  readonly events: LogEvent[] = [];
  readonly errors: unknown[] = [];
  completed = false;
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  next = (result: Result) => {
    if (result.errors?.length) this.errors.push(...result.errors);
    const batch = result.data?.serviceLogs;
    if (batch) {
      this.batches.push(batch);
      this.events.push(...batch);
    }
    this.poll();
  };
  error = (error: unknown) => {
    this.errors.push(error);
    this.poll();
  };
  complete = () => {
    this.completed = true;
    this.poll();
  };

  get lines(): LogEvent[] {
    return this.events.filter((e) => e.kind === 'LINE');
  }

  /** Resolves once `check` holds; a stuck wait fails the test with what was received. */
  until(check: (c: this) => boolean, what: string, ms = 45_000): Promise<void> {
    if (check(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`waited for ${what}; got ${JSON.stringify(this.events.slice(-8))} errors ${JSON.stringify(this.errors)}`));
      }, ms);
      this.waiters.push({
        check: () => check(this),
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  private poll(): void {
    this.waiters = this.waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  }
}

function wsClient(token = t.adminToken): WsClient {
  return createWsClient({
    url: `${t.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: true,
  });
}

function subscribeWs(client: WsClient, variables: ServiceLogsSubscriptionVariables): { logs: Collector; stop: () => void } {
  const logs = new Collector();
  const stop = client.subscribe<ServiceLogsSubscription>({ query: QUERY, variables: variables as Record<string, unknown> }, logs);
  return { logs, stop };
}

/** Polls until `check` stops throwing: for states reached asynchronously (streams closing). */
async function eventually(check: () => unknown | Promise<unknown>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const stats = () => t.app.services.logs.stats();

async function expectIdle(): Promise<void> {
  await eventually(() =>
    expect(stats()).toMatchObject({ subscriptions: 0, followers: 0, openUpstreams: 0, attachments: 0, watches: 0, queuedEvents: 0 }),
  );
}

/** The number after "out " / "err " / "tty " in the talker's lines. */
const seq = (e: LogEvent) => Number(/(\d+)$/.exec(e.text)?.[1] ?? NaN);

/** Lines of each stream are consecutive and none is delivered twice. */
function expectGapless(lines: LogEvent[]): void {
  const keys = lines.map((l) => `${l.containerId}|${l.stream}|${l.timestampNanos}`);
  expect(new Set(keys).size).toBe(keys.length);
  for (const stream of ['STDOUT', 'STDERR'] as const) {
    const numbers = lines.filter((l) => l.stream === stream).map(seq);
    for (let i = 1; i < numbers.length; i++) expect(numbers[i], `${stream} line after ${numbers[i - 1]}`).toBe(numbers[i - 1] + 1);
  }
}

const createService = (name: string, command: string) => createServiceIn(t, deploymentId, { name, image: infra().registryImageBusybox, command });
const deploy = async (id: string) => (await deployAndWait(t, id)).containerId!;

async function containerOf(id: string): Promise<string> {
  const { service } = await t.client.request(ServiceRuntimeDocument, { id });
  return service!.containerId!;
}

beforeAll(async () => {
  t = await startTestApp();
  deploymentId = await createDeploymentNamed(t, 'logs');
  talkerId = await createService('talker', TALKER);
  await deploy(talkerId);
}, 180_000);

afterAll(async () => {
  if (deploymentId) await t?.client.request(DeleteDeploymentWithVolumesDocument, { id: deploymentId, removeVolumes: true }).catch(() => {});
  await t?.stop();
});

describe('serviceLogs over graphql-ws', () => {
  let reference: LogEvent;

  it('starts with the last `tail` lines, then live lines: no gap, no repeat, stdout and stderr apart', async () => {
    const client = wsClient();
    // Let the container write a history of at least the 3 lines asked for first.
    const written = async () => String(await docker().getContainer(await containerOf(talkerId)).logs({ stdout: true, stderr: true, tail: 10 })).split('\n').length - 1;
    await eventually(async () => expect(await written()).toBeGreaterThanOrEqual(3));
    const { logs, stop } = subscribeWs(client, { serviceId: talkerId, tail: 3 });
    await logs.until((c) => c.lines.length >= 14, '14 lines');
    stop();
    await client.dispose();

    // The history comes first, alone in its message.
    expect(logs.batches[0]).toHaveLength(3);
    expect(logs.batches[0].every((e) => e.kind === 'LINE')).toBe(true);
    const containerId = await containerOf(talkerId);
    for (const line of logs.lines) {
      expect(line.containerId).toBe(containerId);
      expect(line.text).toMatch(line.stream === 'STDOUT' ? /^out \d+$/ : /^err \d+$/);
      expect(line.timestampNanos).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      expect(Date.parse(line.timestamp)).toBe(Date.parse(line.timestampNanos));
    }
    expect(logs.lines.some((l) => l.stream === 'STDOUT') && logs.lines.some((l) => l.stream === 'STDERR')).toBe(true);
    expectGapless(logs.lines);
    reference = logs.lines.filter((l) => l.stream === 'STDOUT')[3];
    await expectIdle();
  });

  it('with `since`, starts at that instant', async () => {
    const client = wsClient();
    const { logs, stop } = subscribeWs(client, { serviceId: talkerId, since: reference.timestamp });
    await logs.until((c) => c.lines.some((l) => l.timestampNanos > reference.timestampNanos && seq(l) >= seq(reference) + 3), 'lines after the reference');
    stop();
    await client.dispose();
    // Nothing before `since` (millisecond precision), and the reference line is among the
    // first: only its stderr twin can share its millisecond; the line before is 0.2 s older.
    const since = reference.timestamp.replace('Z', '000000Z');
    expect(logs.lines.every((l) => l.timestampNanos >= since)).toBe(true);
    expect(logs.lines.slice(0, 2).map((l) => l.timestampNanos)).toContain(reference.timestampNanos);
    expectGapless(logs.lines);
    await expectIdle();
  });

  it('with tail 0, only lines written after subscribing', async () => {
    const client = wsClient();
    const before = new Date().toISOString();
    const { logs, stop } = subscribeWs(client, { serviceId: talkerId, tail: 0 });
    await logs.until((c) => c.lines.length >= 4, '4 lines');
    stop();
    await client.dispose();
    // Docker stamps lines on the same host clock; the first one can only be a line
    // already written by the time the follower opened, i.e. after `before`.
    expect(logs.lines[0].timestampNanos > before.replace('Z', '000000Z')).toBe(true);
    expectGapless(logs.lines);
    await expectIdle();
  });

  it('answers typed errors: unknown service, tail and since out of range; READ is enough', async () => {
    const client = wsClient();
    const unknown = subscribeWs(client, { serviceId: 'no-such-service' });
    await unknown.logs.until((c) => c.errors.length > 0, 'an error');
    expect(JSON.stringify(unknown.logs.errors)).toContain('NOT_FOUND');

    for (const variables of [{ tail: -1 }, { tail: 10_001 }, { since: new Date(Date.now() + 3_600_000).toISOString() }]) {
      const bad = subscribeWs(client, { serviceId: talkerId, ...variables });
      await bad.logs.until((c) => c.errors.length > 0, 'an error');
      expect(JSON.stringify(bad.logs.errors)).toContain('VALIDATION_FAILED');
    }
    await client.dispose();

    const { createApiToken } = await t.client.request(CreateApiTokenDocument, { input: { name: 'log reader', scopes: ['READ'] } });
    if (createApiToken.__typename !== 'MutationCreateApiTokenSuccess') throw new Error(JSON.stringify(createApiToken));
    const reader = wsClient(createApiToken.data.token);
    const { logs, stop } = subscribeWs(reader, { serviceId: talkerId, tail: 1 });
    await logs.until((c) => c.lines.length >= 2, 'lines for a READ token');
    stop();
    await reader.dispose();
    await expectIdle();
  });
});

describe('serviceLogs over SSE', () => {
  it('delivers the same events with graphql-sse; disposing releases the follower', async () => {
    const client = createSseClient({ url: `${t.url}/graphql`, headers: { authorization: `Bearer ${t.adminToken}` }, retryAttempts: 0 });
    const logs = new Collector();
    const stop = client.subscribe<ServiceLogsSubscription>({ query: QUERY, variables: { serviceId: talkerId, tail: 2 } }, logs);
    await logs.until((c) => c.lines.length >= 8, '8 lines');
    expect(stats()).toMatchObject({ subscriptions: 1, followers: 1, openUpstreams: 1 });
    stop();
    client.dispose();
    expect(logs.batches[0]).toHaveLength(2);
    expectGapless(logs.lines);
    await expectIdle();
  });

  it('a raw text/event-stream request that is aborted releases everything', async () => {
    const abort = new AbortController();
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${t.adminToken}` },
      body: JSON.stringify({ query: QUERY, variables: { serviceId: talkerId, tail: 1 } }),
      signal: abort.signal,
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    while (!/event: next\ndata: .*"LINE"/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toMatch(/"text":"(out|err) \d+"/);
    expect(stats().subscriptions).toBe(1);
    abort.abort();
    await reader.cancel().catch(() => undefined);
    await expectIdle();
  });

  it('answers NOT_FOUND for an unknown service', async () => {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${t.adminToken}` },
      body: JSON.stringify({ query: QUERY, variables: { serviceId: 'no-such-service' } }),
    });
    expect(await res.text()).toContain('NOT_FOUND');
  });
});

describe('one Docker follower per container', () => {
  it('serves 50 concurrent subscribers from one upstream stream, and closes it when they leave', async () => {
    const opened = stats().upstreamsOpened;
    const clients = Array.from({ length: 50 }, () => wsClient());
    const subs = clients.map((client) => subscribeWs(client, { serviceId: talkerId, tail: 5 }));
    await Promise.all(subs.map((s) => s.logs.until((c) => c.lines.length >= 9, '9 lines')));

    expect(stats()).toMatchObject({ subscriptions: 50, attachments: 50, followers: 1, openUpstreams: 1, watches: 1 });
    expect(stats().upstreamsOpened - opened).toBe(1);

    // Everyone got the same live lines, each without gap or repeat.
    const last = subs[0].logs.lines.at(-1)!;
    await Promise.all(subs.map((s) => s.logs.until((c) => c.lines.some((l) => l.timestampNanos === last.timestampNanos), 'a common line')));
    for (const s of subs) expectGapless(s.logs.lines);

    await Promise.all(clients.map((c) => c.dispose()));
    await expectIdle();
  });
});

describe('a TTY container', () => {
  it('is read raw: every line on STDOUT, no "\\r", cut lines joined', async () => {
    const serviceId = await createService('tty', 'sleep 1');
    const container = await docker().createContainer({
      name: `mp-svc-${serviceId}`,
      Image: infra().imageBusybox,
      Tty: true,
      Cmd: ['sh', '-c', "trap 'exit 0' TERM; i=0; while true; do echo tty $i; echo tty-err $i >&2; i=$((i+1)); sleep 0.2; done"],
      Labels: labelsFor({ deploymentId, serviceId, role: 'service' }),
    });
    await container.start();
    // The API has no TTY option: point the service at this container the way a deploy would.
    await t.app.db.prisma.service.update({ where: { id: serviceId }, data: { containerId: container.id } });
    expect((await container.inspect()).Config.Tty).toBe(true);

    const client = wsClient();
    const { logs, stop } = subscribeWs(client, { serviceId, tail: 2 });
    await logs.until((c) => c.lines.length >= 10, '10 lines');
    stop();
    await client.dispose();
    expect(logs.batches[0]).toHaveLength(2);
    for (const line of logs.lines) {
      expect(line.stream).toBe('STDOUT');
      expect(line.text).toMatch(/^tty(-err)? \d+$/);
      expect(line.containerId).toBe(container.id);
    }
    // Both kinds arrive on the one stream, in order, without gaps.
    const outs = logs.lines.filter((l) => l.text.startsWith('tty ')).map(seq);
    const errs = logs.lines.filter((l) => l.text.startsWith('tty-err ')).map(seq);
    for (const numbers of [outs, errs]) for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBe(numbers[i - 1] + 1);
    await expectIdle();
    await t.client.request(DeleteServiceDocument, { id: serviceId });
  });
});

describe('following the service', () => {
  it('continues across a Deploy, a Stop and a Start on the same subscription', async () => {
    const first = await containerOf(talkerId);
    const client = wsClient();
    const { logs, stop } = subscribeWs(client, { serviceId: talkerId, tail: 0 });
    await logs.until((c) => c.lines.length >= 4, 'lines of the first container');

    const second = await deploy(talkerId);
    expect(second).not.toBe(first);
    const changedAt = () => logs.events.findIndex((e) => e.kind === 'CONTAINER_CHANGED');
    await logs.until((c) => changedAt() >= 0 && c.events.slice(changedAt()).filter((e) => e.kind === 'LINE').length >= 6, 'lines of the new container');
    const changed = logs.events[changedAt()];
    expect(changed.containerId).toBe(second);
    const before = logs.events.slice(0, changedAt());
    const after = logs.events.slice(changedAt() + 1);
    expect(before.filter((e) => e.kind === 'LINE').every((e) => e.containerId === first)).toBe(true);
    expect(before.some((e) => e.kind === 'CONTAINER_STOPPED' && e.containerId === first)).toBe(true);
    expect(after.every((e) => e.kind === 'LINE' && e.containerId === second)).toBe(true);
    // The new container from its very first line.
    expect(after.filter((e) => e.stream === 'STDOUT').map(seq).slice(0, 3)).toEqual([0, 1, 2]);
    expectGapless(after);
    expect(stats()).toMatchObject({ subscriptions: 1, followers: 1, openUpstreams: 1 });

    // Stop: a marker, then nothing; Start: the same container again, with no line repeated.
    const { stopService } = await t.client.request(StopServiceDocument, { id: talkerId });
    expect(stopService.__typename).toBe('MutationStopServiceSuccess');
    await logs.until((c) => c.events.at(-1)?.kind === 'CONTAINER_STOPPED', 'the stop marker');
    const stoppedAt = logs.events.length;
    const { startService } = await t.client.request(StartServiceDocument, { id: talkerId });
    expect(startService.__typename).toBe('MutationStartServiceSuccess');
    await logs.until((c) => c.events.slice(stoppedAt).filter((e) => e.kind === 'LINE').length >= 4, 'lines after the restart');
    const restarted = logs.events.slice(stoppedAt);
    expect(restarted.every((e) => e.kind === 'LINE' && e.containerId === second)).toBe(true);
    // The shell starts counting again; the lines are new ones (later timestamps), nothing from before the stop.
    expect(restarted.filter((e) => e.stream === 'STDOUT').map(seq).slice(0, 2)).toEqual([0, 1]);
    const lastBefore = logs.events.slice(0, stoppedAt).filter((e) => e.kind === 'LINE').at(-1)!;
    expect(restarted.every((e) => e.timestampNanos > lastBefore.timestampNanos)).toBe(true);
    expect(logs.completed).toBe(false);

    stop();
    await client.dispose();
    await expectIdle();
  });

  it('subscribed to a stopped service: a marker, then the next run from its first line, nothing older', async () => {
    const { stopService } = await t.client.request(StopServiceDocument, { id: talkerId });
    expect(stopService.__typename).toBe('MutationStopServiceSuccess');
    const client = wsClient();
    const { logs, stop } = subscribeWs(client, { serviceId: talkerId, tail: 0 });
    await logs.until((c) => c.events.length > 0, 'the first event');
    expect(logs.events[0]).toMatchObject({ kind: 'CONTAINER_STOPPED', containerId: await containerOf(talkerId) });

    const { startService } = await t.client.request(StartServiceDocument, { id: talkerId });
    expect(startService.__typename).toBe('MutationStartServiceSuccess');
    await logs.until((c) => c.lines.length >= 4, 'lines of the new run');
    stop();
    await client.dispose();
    expect(logs.lines.filter((l) => l.stream === 'STDOUT').map(seq).slice(0, 2)).toEqual([0, 1]);
    expectGapless(logs.lines);
    await expectIdle();
  });
});

describe('hygiene', () => {
  let floodId: string;

  it('a slow subscriber gets DROPPED markers; its queue never exceeds the limit', async () => {
    floodId = await createService('flood', FLOOD);
    await deploy(floodId);
    const limit = t.app.services.logs.queueLimit;
    // A raw graphql-transport-ws client, so the test controls when the socket is read.
    const socket = new WebSocket(`${t.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    const received: LogEvent[] = [];
    let acked!: () => void;
    const ready = new Promise<void>((resolve) => (acked = resolve));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; payload?: Result };
      if (message.type === 'connection_ack') acked();
      if (message.type === 'next') received.push(...(message.payload?.data?.serviceLogs ?? []));
    });
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${t.adminToken}` } }));
    await ready;
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: QUERY, variables: { serviceId: floodId, tail: 0 } } }));
    await eventually(() => expect(received.length).toBeGreaterThan(0));

    socket.pause();
    const dropped = stats().droppedLines;
    let maxQueued = 0;
    await eventually(() => {
      maxQueued = Math.max(maxQueued, stats().queuedEvents);
      expect(stats().droppedLines - dropped).toBeGreaterThan(5 * limit);
    }, 60_000);
    expect(maxQueued).toBeLessThanOrEqual(limit);

    const seen = received.length;
    socket.resume();
    await eventually(() => expect(received.slice(seen).some((e) => e.kind === 'DROPPED')).toBe(true), 30_000);
    const marker = received.slice(seen).find((e) => e.kind === 'DROPPED')!;
    expect(marker.dropped).toBeGreaterThan(0);
    expect(marker.text).toContain('dropped');
    socket.close();
    await expectIdle();
  });

  it('deleting the service completes its subscriptions and releases the follower', async () => {
    const client = wsClient();
    const { logs } = subscribeWs(client, { serviceId: floodId, tail: 0 });
    await logs.until((c) => c.lines.length > 0, 'flood lines');
    const { deleteService } = await t.client.request(DeleteServiceDocument, { id: floodId });
    expect(deleteService.__typename).toBe('MutationDeleteServiceSuccess');
    await logs.until((c) => c.completed, 'completion');
    expect(logs.events.some((e) => e.kind === 'CONTAINER_STOPPED')).toBe(true);
    await client.dispose();
    await expectIdle();
  });
});
