// Log fan-out: serviceLogs over WebSocket to N = 1, 10, 100 subscribers vs one raw
// dockerode follower (`container.logs({ follow: true })` + `modem.demuxStream`) reading
// the same container in the same window, on the real engine (scripts/infra.sh).
//
//   npx tsx bench/logs.ts [--seconds 4] [--phases idle,full,steady] [--subscribers 1,10,100] [--client light|graphql-ws] [--profile]
//
// Three processes, so nobody's CPU is counted as somebody else's: this one runs the API
// server (a real app, PGlite); a child runs the raw follower; another child runs the N
// WebSocket clients (one WebSocket each, opened 50 at a time; see --client below). Phases:
//   idle     1,000 subscriptions to a silent container, over 1,000 then 10 WebSockets:
//            server memory per subscription (first, on a fresh server)
//   full     a container writing numbered lines as fast as its shell can
//   steady   a container writing ~1,000 lines/s (14 lines every ~14 ms)
// For N > 0 the clients subscribe (tail 0) to the running container, the raw follower
// attaches, and after a 1.5 s warm-up both count for the window.
// Delay = when the client parsed the line − Docker's timestamp on it (same host clock).
// Targets: ≥ 0.8× the raw follower's lines/s per subscriber at N = 100 (full speed),
// p99 ≤ 50 ms at the steady rate, ≤ 20 KB RSS per idle subscription at 1,000.
// The machine's load average is printed: on a shared box the delays are mostly scheduling.
// --profile writes a CPU profile of the server process for each window to the temp dir.
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import Docker from 'dockerode';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import {
  CreateDeploymentDocument,
  CreateServiceDocument,
  DeleteDeploymentWithVolumesDocument,
  DeployServiceDocument,
  StartServiceDocument,
  StopServiceDocument,
} from '../client/generated/graphql.ts';
import { dockerOptionsFor } from '../services/docker/clients.ts';
import { startTestApp, type TestApp } from '../test/support/app.ts';
import { infra } from '../test/support/infra.ts';

const TARGETS = { ratioAt100: 0.8, steadyP99Ms: 50, idleKbPerSubscription: 20 } as const;
const IDLE_SUBSCRIPTIONS = 1_000;
/** WebSockets opened at a time. */
const WAVE = 50;
const WARMUP_MS = 1_500;
const QUERY = `subscription BenchLogs($serviceId: ID!) {
  serviceLogs(serviceId: $serviceId, tail: 0) { kind stream timestampNanos text dropped }
}`;
const PAD = 'the quick brown fox jumps over the lazy dog 0123456789';
const FLOOD = `sh -c "trap 'exit 0' TERM; i=0; while true; do echo flood $i ${PAD}; i=$((i+1)); done"`;
const STEADY = `sh -c "trap 'exit 0' TERM; i=0; while true; do ${Array.from({ length: 14 }, (_, k) => `echo steady $i ${k} ${PAD};`).join(' ')} i=$((i+1)); usleep 10000; done"`;
/** An env var on every bench service, so a later run can find what a killed one left. */
const BENCH_MARK = 'SPUNTO_BENCH_LOGS';
const IDLE = `sh -c "trap 'exit 0' TERM; while true; do sleep 1; done"`;

// ---- shared: messages between the processes ---------------------------------------------

type Command =
  | { type: 'start'; url: string; token: string; serviceId: string; containerId: string; subscribers: number; connections: number }
  | { type: 'mark' }
  | { type: 'report' }
  | { type: 'stop' };

interface Report {
  elapsedMs: number;
  /** this process's CPU time over the window, % of one core */
  cpu: number;
  /** lines each subscriber (or the raw follower) received in the window */
  lines: number[];
  dropped: number[];
  p50: number;
  p99: number;
  samples: number;
}

/** Keeps a uniform sample of at most `size` values. */
class Reservoir {
  private readonly values: Float64Array;
  private seen = 0;
  constructor(private readonly size: number) {
    this.values = new Float64Array(size);
  }
  add(value: number): void {
    if (this.seen < this.size) this.values[this.seen] = value;
    else {
      const at = Math.floor(Math.random() * (this.seen + 1));
      if (at < this.size) this.values[at] = value;
    }
    this.seen++;
  }
  quantiles(): { p50: number; p99: number; samples: number } {
    const n = Math.min(this.seen, this.size);
    const sorted = Array.from(this.values.subarray(0, n)).sort((a, b) => a - b);
    const q = (p: number) => (n ? sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))] : NaN);
    return { p50: q(0.5), p99: q(0.99), samples: this.seen };
  }
}

const nowMs = () => performance.timeOrigin + performance.now();
/** Docker's RFC3339Nano (UTC, nine digits) as epoch milliseconds with the fraction kept. */
const stampMs = (ts: string) => Date.parse(ts) + Number(ts.slice(23, 29)) / 1e6;

let cpuMark = process.cpuUsage();
const cpuSinceMark = (elapsedMs: number) => {
  const used = process.cpuUsage(cpuMark);
  return ((used.user + used.system) / 1000 / elapsedMs) * 100;
};

function serve(handlers: { start(c: Extract<Command, { type: 'start' }>): Promise<void>; mark(): void; report(): Report; stop(): Promise<void> }): void {
  process.on('message', (command: Command) => {
    void (async () => {
      if (command.type === 'start') await handlers.start(command);
      else if (command.type === 'mark') {
        cpuMark = process.cpuUsage();
        handlers.mark();
      }
      else if (command.type === 'report') return process.send!({ type: 'report', report: handlers.report() });
      else if (command.type === 'stop') await handlers.stop();
      process.send!({ type: 'done' });
    })().catch((err) => {
      console.error(err);
      process.exit(1);
    });
  });
  process.on('disconnect', () => process.exit(0));
}

// ---- child: the raw follower ----------------------------------------------------------------

function rawFollower(): void {
  const docker = new Docker(dockerOptionsFor(infra().dockerHost));
  let stream: NodeJS.ReadableStream | null = null;
  let lines = 0;
  let delays = new Reservoir(200_000);
  let measuring = false;
  let since = 0;
  const sink = () => {
    let carry = '';
    return new Writable({
      write(chunk: Buffer, _encoding, done) {
        const now = nowMs();
        const text = carry + chunk.toString('latin1');
        let start = 0;
        for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
          if (measuring) {
            lines++;
            delays.add(now - stampMs(text.slice(start, start + 30)));
          }
          start = nl + 1;
        }
        carry = text.slice(start);
        done();
      },
    });
  };
  serve({
    async start({ containerId }) {
      stream = (await docker
        .getContainer(containerId)
        .logs({ follow: true, stdout: true, stderr: true, timestamps: true, tail: 0 })) as NodeJS.ReadableStream;
      docker.modem.demuxStream(stream, sink(), sink());
    },
    mark() {
      lines = 0;
      delays = new Reservoir(200_000);
      measuring = true;
      since = nowMs();
    },
    report() {
      const elapsedMs = nowMs() - since;
      return { elapsedMs, cpu: cpuSinceMark(elapsedMs), lines: [lines], dropped: [0], ...delays.quantiles() };
    },
    async stop() {
      measuring = false;
      (stream as unknown as { destroy(): void } | null)?.destroy();
      stream = null;
    },
  });
}

// ---- child: the WebSocket subscribers --------------------------------------------------------
//
// Two kinds of client, chosen with --client:
//   light      (default) speaks graphql-transport-ws itself over `ws` and counts the lines in
//              each `next` message by scanning its bytes, as the raw follower scans Docker's:
//              the load generator then costs little next to the server it measures.
//   graphql-ws the library's client, which JSON-parses every message into objects: what an
//              app pays per line. On a 2-CPU box shared with the server, Docker and a
//              flooding container, 100 of these are limited by their own parsing.

interface Counters {
  /** Counts a line of subscriber `i`; true when its delay is to be sampled (see subscribers()). */
  line(i: number): boolean;
  delay(stampNanos: string, now: number): void;
  dropped(i: number, count: number): void;
}

interface Subscriber {
  /** resolves once the connection is acknowledged (or has failed); subscribing may come first */
  readonly ready: Promise<void>;
  subscribe(i: number, serviceId: string): void;
  dispose(): Promise<void>;
}

type Connect = (url: string, token: string, counters: Counters, onError: (message: string) => void) => Subscriber;

const LINE = Buffer.from('"kind":"LINE"');
const DROPPED = Buffer.from('"kind":"DROPPED"');
const STAMP = Buffer.from('"timestampNanos":"');
const DROPPED_COUNT = Buffer.from('"dropped":');
const NEXT = Buffer.from('"type":"next"');

const light: Connect = (url, token, counters, onError) => {
  // Counting lines needs no decoding, so the client doesn't validate UTF-8 either.
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', { skipUTF8Validation: true });
  const owners = new Map<string, number>();
  // Subscribe messages wait for the server's connection_ack.
  let waiting: string[] | null = [];
  let acknowledged!: () => void;
  const ready = new Promise<void>((resolve) => (acknowledged = resolve)).then(() => {
    for (const message of waiting ?? []) socket.send(message);
    waiting = null;
  });
  socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
  socket.on('close', () => acknowledged());
  socket.on('error', (err) => onError(err.message));
  socket.on('message', (data: Buffer) => {
    const head = data.indexOf(NEXT);
    if (head === -1 || head > 80) {
      const message = JSON.parse(data.toString()) as { type: string; payload?: unknown };
      if (message.type === 'connection_ack') acknowledged();
      else if (message.type === 'error') onError(JSON.stringify(message.payload));
      else if (message.type === 'ping') socket.send(JSON.stringify({ type: 'pong' }));
      return;
    }
    const now = nowMs();
    const i = owners.get(data.toString('latin1', 7, data.indexOf(34, 7)))!;
    for (let at = data.indexOf(LINE, head); at !== -1; at = data.indexOf(LINE, at + LINE.length)) {
      if (!counters.line(i)) continue;
      const stamp = data.indexOf(STAMP, at) + STAMP.length;
      counters.delay(data.toString('latin1', stamp, stamp + 30), now);
    }
    for (let at = data.indexOf(DROPPED, head); at !== -1; at = data.indexOf(DROPPED, at + DROPPED.length)) {
      const count = data.indexOf(DROPPED_COUNT, at) + DROPPED_COUNT.length;
      counters.dropped(i, parseInt(data.toString('latin1', count, count + 12), 10));
    }
  });
  return {
    ready,
    subscribe(i, serviceId) {
      // Random ids, like graphql-ws's client: the server keys its subscriptions by id, and
      // numeric ones would make that object a sparse array.
      const id = randomUUID();
      owners.set(id, i);
      const message = JSON.stringify({ id, type: 'subscribe', payload: { query: QUERY, variables: { serviceId } } });
      if (waiting) waiting.push(message);
      else if (socket.readyState === WebSocket.OPEN) socket.send(message);
    },
    async dispose() {
      if (socket.readyState === WebSocket.CLOSED) return;
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.close(1000);
      });
    },
  };
};

const graphqlWs: Connect = (url, token, counters, onError) => {
  let connected!: () => void;
  const ready = new Promise<void>((resolve) => (connected = resolve));
  const client: Client = createClient({
    url: `${url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: true,
    on: { connected: () => connected(), closed: () => connected() },
  });
  type Event = { kind: string; timestampNanos: string; dropped: number | null };
  return {
    ready,
    subscribe(i, serviceId) {
      client.subscribe<{ serviceLogs: Event[] }>(
        { query: QUERY, variables: { serviceId } },
        {
          next: (result) => {
            const now = nowMs();
            for (const event of result.data?.serviceLogs ?? []) {
              if (event.kind === 'LINE' && counters.line(i)) counters.delay(event.timestampNanos, now);
              else if (event.kind === 'DROPPED') counters.dropped(i, event.dropped ?? 0);
            }
          },
          error: (err) => onError(err instanceof Error ? err.message : String((err as { reason?: string }).reason ?? err)),
          complete: () => undefined,
        },
      );
    },
    dispose: () => client.dispose() as Promise<void>,
  };
};

function subscribers(kind: string): void {
  const connect = kind === 'graphql-ws' ? graphqlWs : light;
  let connections: Subscriber[] = [];
  let lines: number[] = [];
  let dropped: number[] = [];
  let delays = new Reservoir(200_000);
  let measuring = false;
  let since = 0;
  let errors = 0;
  let stride = 1;
  const counters: Counters = {
    // Every line is counted; the delay of every stride-th line of each subscriber (offset by
    // its index) is sampled, so all subscribers together sample about as many lines as the
    // raw follower measures, spread evenly over them.
    line(i) {
      if (!measuring) return false;
      return (lines[i]++ + i) % stride === 0;
    },
    delay(stampNanos, now) {
      delays.add(now - stampMs(stampNanos));
    },
    dropped(i, count) {
      if (measuring) dropped[i] += count;
    },
  };
  const onError = (message: string) => {
    if (errors++ === 0) console.error('bench: subscription error', message);
  };
  serve({
    async start({ url, token, serviceId, subscribers: n, connections: count }) {
      lines = new Array(n).fill(0);
      dropped = new Array(n).fill(0);
      stride = n;
      // Connect in waves, as clients arrive in life, not a thousand handshakes at once.
      for (let first = 0; first < count; first += WAVE) {
        const wave = Array.from({ length: Math.min(WAVE, count - first) }, () => connect(url, token, counters, onError));
        connections.push(...wave);
        for (let i = 0; i < n; i++) if (i % count >= first && i % count < first + WAVE) connections[i % count].subscribe(i, serviceId);
        await Promise.all(wave.map((c) => c.ready));
      }
    },
    mark() {
      lines.fill(0);
      dropped.fill(0);
      delays = new Reservoir(200_000);
      measuring = true;
      since = nowMs();
    },
    report() {
      const elapsedMs = nowMs() - since;
      return { elapsedMs, cpu: cpuSinceMark(elapsedMs), lines: [...lines], dropped: [...dropped], ...delays.quantiles() };
    },
    async stop() {
      measuring = false;
      await Promise.all(connections.map((c) => c.dispose()));
      connections = [];
    },
  });
}

// ---- the parent: server, phases, table ------------------------------------------------------

class Child {
  private readonly process: ChildProcess;
  private pending: ((message: { type: string; report?: Report }) => void)[] = [];

  constructor(role: string, args: string[] = []) {
    this.process = fork(import.meta.filename, [`--role=${role}`, ...args], { stdio: 'inherit' });
    this.process.on('message', (message: { type: string; report?: Report }) => this.pending.shift()?.(message));
    this.process.on('exit', (code) => {
      if (code) console.error(`bench child ${role} exited with ${code}`);
    });
  }

  send(command: Command): Promise<{ type: string; report?: Report }> {
    return new Promise((resolve) => {
      this.pending.push(resolve);
      this.process.send(command);
    });
  }

  async report(): Promise<Report> {
    return (await this.send({ type: 'report' })).report!;
  }

  kill(): void {
    if (this.process.connected) this.process.disconnect();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '-');

/** Polls `check` until it holds; a phase that never gets there fails the run instead of hanging it. */
async function until(what: string, check: () => boolean, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await sleep(50);
  }
}

function table(head: string[], body: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of body) console.log(line(r));
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      seconds: { type: 'string', default: '4' },
      phases: { type: 'string', default: 'idle,full,steady' },
      subscribers: { type: 'string', default: '1,10,100' },
      profile: { type: 'boolean', default: false },
      client: { type: 'string', default: 'light' },
      role: { type: 'string' },
    },
  });
  const windowMs = Number(args.seconds) * 1000;
  if (!Number.isFinite(windowMs) || windowMs <= 0) throw new Error('--seconds must be a positive number');
  const phases = new Set(args.phases!.split(','));
  const counts = args.subscribers!.split(',').map(Number);
  if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--subscribers must be positive integers');

  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await sleep(300);
    }
    return process.memoryUsage();
  };

  const began = Date.now();
  await sweepLeftovers();
  const t: TestApp = await startTestApp();
  const hub = t.app.services.logs;
  const request = t.client.request.bind(t.client);
  const { createDeployment } = await request(CreateDeploymentDocument, { input: { name: 'bench-logs' } });
  if (createDeployment.__typename !== 'MutationCreateDeploymentSuccess') throw new Error(JSON.stringify(createDeployment));
  const deploymentId = createDeployment.data.id;
  const service = async (name: string, command: string) => {
    const { createService } = await request(CreateServiceDocument, {
      input: { deploymentId, name, image: infra().registryImageBusybox, command, envVars: [{ key: BENCH_MARK, value: '1' }] } as never,
    });
    if (createService.__typename !== 'MutationCreateServiceSuccess') throw new Error(JSON.stringify(createService));
    return createService.data.id;
  };
  const deploy = async (id: string) => {
    const { deployService } = await request(DeployServiceDocument, { id, wait: true });
    if (deployService.__typename !== 'MutationDeployServiceSuccess') throw new Error(JSON.stringify(deployService));
    return deployService.data.containerId!;
  };
  const stopService = async (id: string) => {
    const { stopService: r } = await request(StopServiceDocument, { id });
    if (r.__typename !== 'MutationStopServiceSuccess') throw new Error(JSON.stringify(r));
  };
  const startService = async (id: string) => {
    const { startService: r } = await request(StartServiceDocument, { id });
    if (r.__typename !== 'MutationStartServiceSuccess') throw new Error(JSON.stringify(r));
  };

  const raw = new Child('raw');
  if (args.client !== 'light' && args.client !== 'graphql-ws') throw new Error('--client must be light or graphql-ws');
  const clients = new Child('clients', [`--client=${args.client}`]);
  const load = os.loadavg()[0];
  let cleaned: Promise<void> | null = null;
  const cleanup = () =>
    (cleaned ??= (async () => {
      raw.kill();
      clients.kill();
      await request(DeleteDeploymentWithVolumesDocument, { id: deploymentId, removeVolumes: true }).catch(() => undefined);
      await t.stop();
    })());
  // Interrupted (Ctrl-C, a timeout): the flood container must not outlive the run.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`bench: ${signal}, cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  try {
    // The three containers, deployed side by side, then stopped until their phase.
    const wanted = [
      ['idle', IDLE, phases.has('idle')],
      ['flood', FLOOD, phases.has('full')],
      ['steady', STEADY, phases.has('steady')],
    ] as const;
    const services = new Map<string, { serviceId: string; containerId: string }>();
    await Promise.all(
      wanted
        .filter(([, , on]) => on)
        .map(async ([name, command]) => {
          const serviceId = await service(name, command);
          const containerId = await deploy(serviceId);
          await stopService(serviceId);
          services.set(name, { serviceId, containerId });
        }),
    );

    // 1. Idle subscriptions first, on a fresh server, so RSS is not hidden by a heap that
    //    earlier phases already grew: one WebSocket each (the worst case), then 10 in all.
    //    The second RSS figure reuses memory the first freed; heap figures are exact.
    const memory: string[][] = [];
    const idle = new Map<number, { rss: number; heap: number }>();
    if (phases.has('idle')) {
      const { serviceId, containerId } = services.get('idle')!;
      await startService(serviceId);
      for (const connections of [IDLE_SUBSCRIPTIONS, 10]) {
        const before = await settle();
        const start = { url: t.url, token: t.adminToken, serviceId, containerId };
        await clients.send({ type: 'start', ...start, subscribers: IDLE_SUBSCRIPTIONS, connections });
        await until('idle subscriptions', () => hub.stats().attachments === IDLE_SUBSCRIPTIONS);
        const after = await settle();
        const stats = hub.stats();
        await clients.send({ type: 'stop' });
        await until('idle subscriptions to end', () => hub.stats().subscriptions === 0);
        const kb = (bytes: number) => bytes / 1024 / IDLE_SUBSCRIPTIONS;
        const perSub = {
          rss: kb(after.rss - before.rss),
          // What the subscriptions hold, whatever V8 does with its pages: JS heap plus Buffers.
          heap: kb(after.heapUsed + after.external - before.heapUsed - before.external),
        };
        idle.set(connections, perSub);
        memory.push([
          `${IDLE_SUBSCRIPTIONS} over ${connections} WebSocket${connections === 1 ? '' : 's'}`,
          fmt(perSub.rss, 1),
          fmt(perSub.heap, 1),
          fmt(after.rss / 1024 / 1024, 0),
          `${stats.followers}/${stats.openUpstreams}`,
        ]);
        console.error(`  idle over ${connections} sockets: done at ${((Date.now() - began) / 1000).toFixed(0)} s`);
      }
      await stopService(serviceId);
    }

    // 2. Throughput and delay. Subscribers connect to the running container (tail 0: live
    //    lines only, as someone opening a log view of a busy service), then the raw
    //    follower attaches; after a warm-up, both count for the window.
    const rows: string[][] = [];
    const results = new Map<string, { ratio: number; p99: number }>();
    for (const [mode, name] of [
      ['full speed', 'flood'],
      ['steady', 'steady'],
    ] as const) {
      if (!phases.has(mode === 'full speed' ? 'full' : 'steady')) continue;
      const { serviceId } = services.get(name)!;
      let { containerId } = services.get(name)!;
      await startService(serviceId);
      for (const n of [0, ...counts]) {
        const start = { url: t.url, token: t.adminToken, serviceId, containerId };
        if (n > 0) {
          await clients.send({ type: 'start', ...start, subscribers: n, connections: n });
          await until(`${n} attachments`, () => hub.stats().attachments === n);
        }
        await raw.send({ type: 'start', ...start, subscribers: 1, connections: 1 });
        await sleep(WARMUP_MS);
        await Promise.all([raw.send({ type: 'mark' }), n > 0 && clients.send({ type: 'mark' })]);
        const cpu = process.cpuUsage();
        const { droppedLines: dropped, upstreamLines: upstream } = hub.stats();
        const loop = monitorEventLoopDelay({ resolution: 5 });
        loop.enable();
        const profiler = args.profile ? new Session() : null;
        if (profiler) {
          profiler.connect();
          await profiler.post('Profiler.enable');
          await profiler.post('Profiler.start');
        }
        await sleep(windowMs);
        loop.disable();
        if (profiler) {
          const { profile } = await profiler.post('Profiler.stop');
          const file = path.join(os.tmpdir(), `bench-logs-${mode.replace(' ', '-')}-${n}.cpuprofile`);
          await writeFile(file, JSON.stringify(profile));
          profiler.disconnect();
          console.error(`  server CPU profile of the window: ${file}`);
        }
        const [r, c] = await Promise.all([raw.report(), n > 0 ? clients.report() : null]);
        const used = process.cpuUsage(cpu);
        const stats = hub.stats();
        await Promise.all([raw.send({ type: 'stop' }), n > 0 && clients.send({ type: 'stop' })]);
        await until('subscriptions to end', () => hub.stats().subscriptions === 0);

        const rawRate = (r.lines[0] * 1000) / r.elapsedMs;
        const perSub = c ? (mean(c.lines) * 1000) / c.elapsedMs : NaN;
        const minSub = c ? (Math.min(...c.lines) * 1000) / c.elapsedMs : NaN;
        results.set(`${mode} ${n}`, { ratio: perSub / rawRate, p99: c?.p99 ?? NaN });
        rows.push([
          mode,
          n ? String(n) : 'raw only',
          fmt(rawRate),
          n ? fmt(((stats.upstreamLines - upstream) * 1000) / r.elapsedMs) : '-',
          fmt(perSub),
          fmt(minSub),
          n ? fmt(perSub / rawRate, 2) : '-',
          n ? fmt(perSub * n) : '-',
          n ? fmt(stats.droppedLines - dropped) : '-',
          `${fmt(r.p50, 1)} / ${fmt(r.p99, 1)}`,
          c ? `${fmt(c.p50, 1)} / ${fmt(c.p99, 1)}` : '-',
          `${fmt(((used.user + used.system) / 1000 / r.elapsedMs) * 100)} / ${c ? fmt(c.cpu) : '-'} / ${fmt(r.cpu)}`,
          // CPU per line: the server's per line it delivered (all subscribers), the raw follower's per line it read.
          `${c ? fmt((used.user + used.system) / (mean(c.lines) * n), 2) : '-'} / ${fmt((r.cpu * r.elapsedMs * 10) / r.lines[0], 2)}`,
          `${fmt(loop.percentile(50) / 1e6, 0)} / ${fmt(loop.percentile(99) / 1e6, 0)} / ${fmt(loop.max / 1e6, 0)}`,
          n ? `${stats.followers}/${stats.openUpstreams}` : '-',
        ]);
        console.error(`  ${mode}, N=${n}: done at ${((Date.now() - began) / 1000).toFixed(0)} s`);
        containerId = (await docker.getContainer(`mp-svc-${serviceId}`).inspect()).Id;
      }
      await stopService(serviceId);
    }

    // ---- output ----------------------------------------------------------------------------
    console.log(
      `\nLog fan-out: ${windowMs / 1000} s windows after ${WARMUP_MS / 1000} s warm-up; load average ${load.toFixed(1)} at start, ${os.loadavg()[0].toFixed(1)} at end, on ${os.cpus().length} CPUs; ${((Date.now() - began) / 1000).toFixed(0)} s`,
    );
    console.log(`raw = one dockerode follower (own process) on the same container in the same window; per-sub = mean over subscribers; ${args.client} clients\n`);
    if (rows.length) {
      table(
        ['load', 'N', 'raw lines/s', 'server upstream lines/s', 'per-sub lines/s', 'min sub', 'ratio', 'total delivered/s', 'dropped', 'raw p50/p99 ms', 'sub p50/p99 ms', 'CPU % server/clients/raw', 'CPU µs/line server/raw', 'server loop delay p50/p99/max ms', 'followers/upstreams'],
        rows,
      );
    }
    if (memory.length) {
      console.log('\nIdle subscriptions (server process, after GC)\n');
      table(['subscriptions', 'KB RSS/sub', 'KB heap+external/sub', 'RSS MB', 'followers/upstreams'], memory);
    }

    const verdict = (ok: boolean) => (ok ? 'meets' : 'MISSES');
    console.log('\nTargets');
    const full = results.get(`full speed ${Math.max(...counts)}`);
    if (full) {
      console.log(`  full speed, N=${Math.max(...counts)}: ${fmt(full.ratio, 2)}× the raw follower's lines/s per subscriber (target ≥ ${TARGETS.ratioAt100}) — ${verdict(full.ratio >= TARGETS.ratioAt100)}`);
    }
    const steady = counts.map((n) => results.get(`steady ${n}`)?.p99 ?? NaN);
    if (steady.some(Number.isFinite)) {
      console.log(`  steady ~1,000 lines/s: p99 ${steady.map((p) => fmt(p, 1)).join(' / ')} ms at N = ${counts.join(' / ')} (target ≤ ${TARGETS.steadyP99Ms}) — ${verdict(Math.max(...steady) <= TARGETS.steadyP99Ms)}`);
    }
    for (const [connections, perSub] of idle) {
      // RSS alone can shrink while subscriptions are added (V8 returns pages freed by earlier
      // garbage); the larger of the two is the honest figure.
      const worst = Math.max(perSub.rss, perSub.heap);
      console.log(`  idle, ${IDLE_SUBSCRIPTIONS} subscriptions over ${connections} WebSockets: ${fmt(perSub.rss, 1)} KB RSS, ${fmt(perSub.heap, 1)} KB heap+external per subscription (target ≤ ${TARGETS.idleKbPerSubscription} KB) — ${verdict(worst <= TARGETS.idleKbPerSubscription)}`);
    }
  } finally {
    await cleanup();
  }
}

/**
 * Containers a killed earlier run left behind: Spunto service containers (by label) whose
 * environment carries the bench's mark. Removed with their deployment network.
 */
async function sweepLeftovers(): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: ['spunto.managed=true', 'spunto.role=service'] } });
  for (const summary of containers) {
    const info = await docker.getContainer(summary.Id).inspect().catch(() => null);
    if (!info?.Config.Env?.includes(`${BENCH_MARK}=1`)) continue;
    console.error(`bench: removing ${info.Name} left by an earlier run`);
    await docker.getContainer(summary.Id).remove({ force: true, v: true }).catch(() => undefined);
    const network = `mp-dep-${info.Config.Labels['spunto.deployment']}`;
    await docker.getNetwork(network).remove().catch(() => undefined);
  }
}

const docker = new Docker(dockerOptionsFor(infra().dockerHost));
const role = process.argv.find((a) => a.startsWith('--role='))?.slice('--role='.length);
if (role === 'raw') rawFollower();
else if (role === 'clients') subscribers(process.argv.find((a) => a.startsWith('--client='))?.slice('--client='.length) ?? 'light');
else
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
