// Deploy and Start through the API vs the raw Engine API calls they stand for, measured
// side by side in one run on the real engine and registry (scripts/infra.sh).
//
//   npx tsx bench/deploy.ts [--rounds N] [--database pglite|postgres] [--profile]
//
// Deploy: (A) `deployService(id, wait: true)` of an unchanged image with no hook, timed at
// the client, vs (B) pull (progress followed to its end), stop old, remove old, create new,
// start new, with dockerode, on a separate container of the same image and spec shape.
// Start: (A) `startService(id)` vs (B) `container.restart()`. A and B alternate, and which
// goes first flips every round, so drift on the shared engine cancels out.
// --profile times every Engine call, database round trip and deployer/recorder/state
// method while A and B run, and prints where the time goes (per round, medians); then it
// times Deploy and Start once more with every Engine call stubbed out: Spunto's own cost.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import {
  CreateDeploymentDocument,
  CreateServiceDocument,
  DeleteDeploymentWithVolumesDocument,
  DeployServiceDocument,
  ServiceRuntimeDocument,
  StartServiceDocument,
  type DeployRunFieldsFragment,
} from '../client/generated/graphql.ts';
import { dockerOptionsFor } from '../services/docker/clients.ts';
import { startTestApp, type DatabaseKind, type TestApp } from '../test/support/app.ts';
import { infra } from '../test/support/infra.ts';

const TARGETS = { deploy: 1.15, start: 1.1 } as const;
const HTTP_PORT = 8080;

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    database: { type: 'string', default: 'pglite' },
    profile: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log('usage: npx tsx bench/deploy.ts [--rounds N] [--database pglite|postgres] [--profile]');
  process.exit(0);
}
const rounds = Number(args.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${args.rounds}`);
if (args.database !== 'pglite' && args.database !== 'postgres') throw new Error('--database must be pglite or postgres');
const database = args.database as DatabaseKind;

// ---- statistics ---------------------------------------------------------------------------

function quantile(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
function summary(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return { median: median(s), p90: quantile(s, 0.9), mean: s.reduce((a, b) => a + b, 0) / s.length };
}
const ms = (x: number) => x.toFixed(1).padStart(8);

// ---- profiler (--profile) -----------------------------------------------------------------

/** Accumulates named spans into the current bucket ("deploy A", …), one record per round. */
class Profiler {
  private bucket: string | null = null;
  private current = new Map<string, { ms: number; calls: number }>();
  readonly rounds = new Map<string, Map<string, { ms: number; calls: number }>[]>();

  begin(bucket: string): void {
    this.bucket = bucket;
    this.current = new Map();
  }
  end(): void {
    if (!this.bucket) return;
    const list = this.rounds.get(this.bucket) ?? [];
    list.push(this.current);
    this.rounds.set(this.bucket, list);
    this.bucket = null;
  }
  record(name: string, elapsed: number): void {
    if (!this.bucket) return;
    const entry = this.current.get(name) ?? { ms: 0, calls: 0 };
    entry.ms += elapsed;
    entry.calls += 1;
    this.current.set(name, entry);
  }
  /** Per name: median over rounds of the per-round total and call count. */
  table(bucket: string): { name: string; ms: number; calls: number }[] {
    const list = this.rounds.get(bucket) ?? [];
    const names = new Set(list.flatMap((r) => [...r.keys()]));
    return [...names]
      .map((name) => ({
        name,
        ms: median(list.map((r) => r.get(name)?.ms ?? 0)),
        calls: median(list.map((r) => r.get(name)?.calls ?? 0)),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
  /** Median over rounds of a quantity computed from each round's spans. */
  derived(bucket: string, fn: (total: (name: string | RegExp) => number) => number): number {
    const list = this.rounds.get(bucket) ?? [];
    return median(
      list.map((r) => fn((name) => [...r].filter(([n]) => (typeof name === 'string' ? n === name : name.test(n))).reduce((sum, [, v]) => sum + v.ms, 0))),
    );
  }
}
const profiler = new Profiler();

type AnyFn = (...a: unknown[]) => unknown;

/** Replaces proto[method] with a version that records its duration under label(args). */
function wrap(proto: object, method: string, label: (args: unknown[]) => string, around?: (args: unknown[], inner: { ms: number }) => unknown[]): void {
  // The method may live further up the prototype chain; the wrapper shadows it here.
  const target = proto as Record<string, unknown>;
  const original = target[method];
  if (typeof original !== 'function') {
    console.error(`profile: ${(proto as { constructor?: { name?: string } }).constructor?.name ?? '?'}.${method} not found, not timed`);
    return;
  }
  target[method] = function (this: unknown, ...callArgs: unknown[]) {
    const inner = { ms: 0 };
    const actual = around ? around(callArgs, inner) : callArgs;
    const t0 = performance.now();
    const done = () => profiler.record(label(callArgs), performance.now() - t0 - inner.ms);
    const result = (original as AnyFn).apply(this, actual);
    // Prisma's queries are lazy thenables, not Promises: awaiting them is what runs them.
    if (result && typeof (result as PromiseLike<unknown>).then === 'function') return Promise.resolve(result).finally(done);
    done();
    return result;
  };
}

/** Wraps the callback argument at `index` so its time is subtracted (self time of the caller). */
function timeInner(index: number) {
  return (callArgs: unknown[], inner: { ms: number }) => {
    const fn = callArgs[index] as AnyFn;
    const copy = [...callArgs];
    copy[index] = async (...a: unknown[]) => {
      const t0 = performance.now();
      try {
        return await fn(...a);
      } finally {
        inner.ms += performance.now() - t0;
      }
    };
    return copy;
  };
}

function enginePath(method: string, path: string): string {
  const p = path
    .replace(/\?$/, '')
    .replace(/\/containers\/[^/?]+-next(?=\/|$)/, '/containers/{name}-next')
    .replace(/\/containers\/(?!\{)[^/?]+/, '/containers/{id}')
    .replace(/\/images\/.+\/json$/, '/images/{ref}/json')
    .replace(/\/networks\/[^/?]+/, '/networks/{id}');
  return `engine  ${method} ${p}`;
}

async function installProfiler(): Promise<void> {
  const { Deployer } = await import('../services/deployer.ts');
  const { DeployRunRecorder } = await import('../services/deployRuns.ts');
  const { ServiceStateMachine } = await import('../services/serviceState.ts');
  const { DockerEngine } = await import('../services/docker/engine.ts');
  const { AuthService } = await import('../services/auth.ts');

  // Every Engine HTTP call (both A and B), up to the response headers (a pull's body is followed later).
  const modem = Object.getPrototypeOf(new Docker().modem) as Record<string, unknown>;
  const dial = modem.dial as AnyFn;
  modem.dial = function (this: unknown, options: { method: string; path: string }, callback?: (err: unknown, data: unknown) => void) {
    const name = enginePath(options.method, options.path);
    const t0 = performance.now();
    if (typeof callback !== 'function') return dial.call(this, options, callback);
    return dial.call(this, options, (err: unknown, data: unknown) => {
      profiler.record(name, performance.now() - t0);
      callback(err, data);
    });
  };

  // Database round trips: PGlite's protocol calls, or pg's client queries.
  if (database === 'pglite') {
    // The wasm Postgres runs on this thread: every protocol exchange, then the flush to disk.
    const { PGlite } = await import('@electric-sql/pglite');
    wrap(PGlite.prototype, 'execProtocolRawSync', () => 'db      pglite execProtocolRawSync (wasm, sync)');
    wrap(PGlite.prototype, 'syncToFs', () => 'db      pglite syncToFs');
    wrap(PGlite.prototype, 'query', () => 'db      pglite query() (statements outside transactions)');
    wrap(PGlite.prototype, 'transaction', () => 'db      pglite transaction()');
  } else {
    const pg = (await import('pg')).default;
    wrap(pg.Client.prototype, 'query', () => 'db      pg Client.query (all statements)');
  }

  const d = Deployer.prototype;
  wrap(d, 'deploy', () => 'server  deployer.deploy (whole run, resolver to result)');
  wrap(d, 'start', () => 'server  deployer.start (whole run, resolver to result)');
  wrap(d, 'load', () => 'method  deployer.load (service + node)');
  wrap(d, 'withLock', () => 'method  deployer.withLock (self: 2 updateMany)', timeInner(2));
  wrap(d, 'clearStaleNext', () => 'method  deployer.clearStaleNext (inspect -next)');
  const r = DeployRunRecorder.prototype;
  wrap(r, 'create', () => 'method  runs.create');
  wrap(r, 'setStatus', () => 'method  runs.setStatus');
  wrap(r, 'markStarted', () => 'method  runs.markStarted');
  wrap(r, 'finish', () => 'method  runs.finish');
  wrap(r, 'lastSuccessfulDigest', () => 'method  runs.lastSuccessfulDigest');
  wrap(r, 'emit', (a) => `method  runs.emit(${(a[1] as { type?: string }).type}) seq + insert (chained)`);
  wrap(r, 'updateSteps', () => 'method  runs.updateSteps (steps JSON read+write)');
  wrap(r, 'step', (a) => `method  runs.step(${String(a[1])}) self: steps JSON read+write x2`, timeInner(2));
  wrap(ServiceStateMachine.prototype, 'transition', (a) => `method  state.transition(${String(a[1])}) tx`);
  // Docker events fed back into the state machine, where the working tree has them.
  const stateSync = await import(String(new URL('../services/stateSync.ts', import.meta.url))).catch(() => null);
  if (stateSync?.StateSync) {
    wrap(stateSync.StateSync.prototype, 'onContainerEvent', (a) => `method  stateSync.onContainerEvent(${(a[0] as { action?: string }).action})`);
  }
  wrap(AuthService.prototype, 'authenticate', () => 'method  auth.authenticate (token lookup)');
  const e = DockerEngine.prototype;
  wrap(e, 'pullImage', () => 'docker  engine.pullImage (pull + follow + image inspect)');
  wrap(e, 'createServiceContainer', () => 'docker  engine.createServiceContainer (network inspect + create)');
  wrap(e, 'inspectContainer', (a) => `docker  engine.inspectContainer(${String(a[0]).endsWith('-next') ? '-next' : 'id'})`);
  for (const m of ['stopContainer', 'startContainer', 'removeContainer', 'renameContainer', 'restartContainer']) {
    wrap(e, m, () => `docker  engine.${m}`);
  }
}

// ---- setup and cleanup --------------------------------------------------------------------

const docker = new Docker(dockerOptionsFor(infra().dockerHost));
const image = infra().registryImageWeb; // 127.0.0.1:5000/spunto/web:latest
const benchTag = `spunto-bench-${process.pid}-${Date.now().toString(36)}`;
const rawNetwork = `${benchTag}-net`;
const rawName = `${benchTag}-web`;
const rawLabels = { 'spunto-bench': benchTag };

let appStarting: Promise<TestApp> | undefined;
let app: TestApp | undefined;
let deploymentId: string | undefined;
let rawId: string | undefined;

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    const problems: string[] = [];
    app ??= await appStarting?.catch(() => undefined);
    if (app && deploymentId) {
      const { deleteDeployment: r } = await app.client
        .request(DeleteDeploymentWithVolumesDocument, { id: deploymentId, removeVolumes: true })
        .catch((err: Error) => ({ deleteDeployment: { __typename: 'RequestFailed', message: err.message } }));
      if (r.__typename !== 'MutationDeleteDeploymentSuccess') {
        problems.push(`deleteDeployment: ${'message' in r ? r.message : r.__typename}`);
        // Do what deleteDeployment would have done, straight on the engine.
        const filters = { label: [`spunto.deployment=${deploymentId}`] };
        for (const c of await docker.listContainers({ all: true, filters }).catch(() => [])) {
          await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined);
        }
        for (const n of await docker.listNetworks({ filters }).catch(() => [])) {
          await docker.getNetwork(n.Id).remove().catch(() => undefined);
        }
      }
    }
    const filters = { label: [`spunto-bench=${benchTag}`] };
    for (const c of await docker.listContainers({ all: true, filters }).catch(() => [])) {
      await docker.getContainer(c.Id).remove({ force: true, v: true }).catch((err: Error) => problems.push(`remove ${c.Id}: ${err.message}`));
    }
    for (const n of await docker.listNetworks({ filters }).catch(() => [])) {
      await docker.getNetwork(n.Id).remove().catch((err: Error) => problems.push(`remove network ${n.Name}: ${err.message}`));
    }
    await app?.stop().catch((err: Error) => problems.push(`app.stop: ${err.message}`));
    if (problems.length) console.error(`cleanup problems:\n  ${problems.join('\n  ')}`);
  })();
  return cleaning;
}
// A first signal lets the call in flight finish (so nothing is created after the clean-up
// looked), then cleans up; a second one cleans up at once.
let interrupted = false;
class Interrupted extends Error {}
function checkpoint(): void {
  if (interrupted) throw new Interrupted('interrupted');
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (!interrupted) {
      interrupted = true;
      console.error(`\n${signal}: stopping after the current step, then cleaning up (again to clean up now)`);
      return;
    }
    void cleanup().finally(() => process.exit(130));
  });
}

// ---- A: through the API -------------------------------------------------------------------

async function apiDeploy(serviceId: string): Promise<DeployRunFieldsFragment> {
  const { deployService: r } = await app!.client.request(DeployServiceDocument, { id: serviceId, wait: true });
  if (r.__typename !== 'MutationDeployServiceSuccess') throw new Error(`deployService: ${JSON.stringify(r)}`);
  return r.data;
}

async function apiStart(serviceId: string): Promise<DeployRunFieldsFragment> {
  const { startService: r } = await app!.client.request(StartServiceDocument, { id: serviceId });
  if (r.__typename !== 'MutationStartServiceSuccess') throw new Error(`startService: ${JSON.stringify(r)}`);
  return r.data;
}

// ---- B: the raw Engine API sequence -------------------------------------------------------

const rawSteps: Record<string, number[]> = { pull: [], stop: [], remove: [], create: [], start: [] };

async function rawPull(): Promise<void> {
  const [repo, tag] = [image.slice(0, image.lastIndexOf(':')), image.slice(image.lastIndexOf(':') + 1)];
  const stream = await docker.createImage({ fromImage: repo, tag });
  await new Promise<void>((resolve, reject) => {
    let failure: string | undefined;
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : failure ? reject(new Error(failure)) : resolve()),
      (event: { error?: string }) => {
        if (event.error) failure ??= event.error;
      },
    );
  });
}

/** The shape of a Spunto service container: user-defined bridge, alias, loopback port, restart policy. */
function rawSpec(): Docker.ContainerCreateOptions {
  const port = `${HTTP_PORT}/tcp`;
  return {
    name: rawName,
    Image: image,
    Env: [],
    Labels: rawLabels,
    ExposedPorts: { [port]: {} },
    HostConfig: {
      NetworkMode: rawNetwork,
      RestartPolicy: { Name: 'unless-stopped' },
      Binds: [],
      PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: '' }] },
    },
    NetworkingConfig: { EndpointsConfig: { [rawNetwork]: { Aliases: ['web'] } } },
  };
}

async function rawDeploy(record: boolean): Promise<void> {
  const lap = (() => {
    let t = performance.now();
    return (step: string) => {
      const now = performance.now();
      if (record) rawSteps[step].push(now - t);
      t = now;
    };
  })();
  await rawPull();
  lap('pull');
  if (rawId) {
    const old = docker.getContainer(rawId);
    await old.stop({ t: 10 });
    lap('stop');
    await old.remove({ force: true, v: true });
    lap('remove');
  }
  const created = await docker.createContainer(rawSpec());
  lap('create');
  await created.start();
  lap('start');
  rawId = created.id;
}

async function rawRestart(): Promise<void> {
  await docker.getContainer(rawId!).restart({ t: 10 });
}

// ---- measurement --------------------------------------------------------------------------

async function timed(bucket: string, fn: () => Promise<unknown>): Promise<number> {
  if (args.profile) profiler.begin(bucket);
  const t0 = performance.now();
  try {
    await fn();
    const elapsed = performance.now() - t0;
    profiler.record('client  end-to-end', elapsed);
    return elapsed;
  } finally {
    if (args.profile) profiler.end();
  }
}

/** Runs A and B once per round, alternating which goes first. */
async function measure(name: string, a: () => Promise<unknown>, b: () => Promise<unknown>) {
  const times = { a: [] as number[], b: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    const order: ('a' | 'b')[] = i % 2 === 0 ? ['a', 'b'] : ['b', 'a'];
    for (const side of order) {
      checkpoint();
      times[side].push(await timed(`${name} ${side.toUpperCase()}`, side === 'a' ? a : b));
    }
    process.stderr.write(`\r${name}: round ${i + 1}/${rounds}`);
  }
  process.stderr.write('\n');
  return times;
}

/**
 * Spunto's own cost per Deploy and Start, free of the Engine's noise: every DockerEngine
 * method the runs use answers at once (the pull replays a real pull's progress and result).
 * Run last: the service then points at a container id that does not exist.
 */
async function measureWithStubbedEngine(serviceId: string, runs: number) {
  const { DockerEngine } = await import('../services/docker/engine.ts');
  const progress: unknown[] = [];
  const pulled = await new DockerEngine(docker).pullImage(image, (event) => progress.push(event));
  let created = 0;
  const stubs: Record<string, AnyFn> = {
    pullImage: async (_ref, onProgress) => {
      for (const event of progress) (onProgress as AnyFn | undefined)?.(event);
      return pulled;
    },
    createServiceContainer: async () => `stubbed${++created}`,
    inspectContainer: async (id) => (String(id).endsWith('-next') ? null : { Id: id, State: { Running: true, Status: 'running', ExitCode: 0 } }),
    ensureNetwork: async () => 'stubbed-network',
    stopContainer: async () => undefined,
    startContainer: async () => undefined,
    restartContainer: async () => undefined,
    removeContainer: async () => undefined,
    renameContainer: async () => undefined,
  };
  const proto = DockerEngine.prototype as unknown as Record<string, unknown>;
  const saved = Object.fromEntries(Object.keys(stubs).map((name) => [name, proto[name]]));
  Object.assign(proto, stubs);
  const times = { deploy: [] as number[], start: [] as number[] };
  try {
    for (let i = 0; i < runs; i++) {
      checkpoint();
      times.deploy.push(await timed('stubbed deploy', () => apiDeploy(serviceId)));
      times.start.push(await timed('stubbed start', () => apiStart(serviceId)));
    }
  } finally {
    Object.assign(proto, saved);
  }
  return times;
}

async function servedBy(containerId: string): Promise<string> {
  const info = await docker.getContainer(containerId).inspect();
  const binding = info.NetworkSettings.Ports[`${HTTP_PORT}/tcp`]?.find((b) => b.HostIp === '127.0.0.1');
  if (!binding) throw new Error(`container ${containerId} publishes no loopback port`);
  return (await fetch(`http://127.0.0.1:${binding.HostPort}/`)).text();
}

async function main(): Promise<void> {
  if (args.profile) await installProfiler();
  const started = performance.now();
  appStarting = startTestApp({ database });
  app = await appStarting;
  checkpoint();
  const { createDeployment } = await app.client.request(CreateDeploymentDocument, { input: { name: `bench-${Date.now().toString(36)}` } });
  if (createDeployment.__typename !== 'MutationCreateDeploymentSuccess') throw new Error(`createDeployment: ${JSON.stringify(createDeployment)}`);
  deploymentId = createDeployment.data.id;
  const { createService } = await app.client.request(CreateServiceDocument, {
    input: { deploymentId, name: 'web', image, httpPort: HTTP_PORT },
  });
  if (createService.__typename !== 'MutationCreateServiceSuccess') throw new Error(`createService: ${JSON.stringify(createService)}`);
  const serviceId = createService.data.id;
  await docker.createNetwork({ Name: rawNetwork, Driver: 'bridge', CheckDuplicate: true, Labels: rawLabels });

  // Warm-up: the first deploy of each creates its container (and pulls, if needed).
  checkpoint();
  await apiDeploy(serviceId);
  checkpoint();
  await rawDeploy(false);
  checkpoint();
  const second = await apiDeploy(serviceId);
  if (second.imageChanged !== false) throw new Error(`expected an unchanged image, got imageChanged=${second.imageChanged}`);
  await rawDeploy(false);
  await apiStart(serviceId);
  await rawRestart();

  const apiSteps: Record<string, number[]> = {};
  const deploy = await measure(
    'deploy',
    async () => {
      const run = await apiDeploy(serviceId);
      if (run.imageChanged !== false) throw new Error(`the image changed during the benchmark (run ${run.id})`);
      for (const s of run.steps) (apiSteps[s.name] ??= []).push(s.durationMs ?? NaN);
    },
    () => rawDeploy(true),
  );
  const start = await measure('start', () => apiStart(serviceId), rawRestart);

  // Both still serve after all that.
  const { service } = await app.client.request(ServiceRuntimeDocument, { id: serviceId });
  const served = [await servedBy(service!.containerId!), await servedBy(rawId!)];
  if (served.some((body) => body !== served[0])) throw new Error(`the two containers serve different bodies: ${JSON.stringify(served)}`);
  const stubbed = args.profile ? await measureWithStubbedEngine(serviceId, Math.max(rounds, 30)) : null;

  // ---- report ----
  const line = (label: string, xs: number[]) => {
    const s = summary(xs);
    return `  ${label.padEnd(46)}${ms(s.median)}${ms(s.p90)}${ms(s.mean)}`;
  };
  const verdict = (a: number[], b: number[], target: number) => {
    const ratio = median(a) / median(b);
    // Paired by round (A and B ran back to back), for reading through drift and noise.
    const pairedRatio = median(a.map((x, i) => x / b[i]));
    const pairedDiff = median(a.map((x, i) => x - b[i]));
    return [
      `  ratio of medians A/B ${ratio.toFixed(3).padStart(33)}   target ≤ ${target}  ${ratio <= target ? 'PASS' : 'MISS'}`,
      `  (median of per-round A/B ${pairedRatio.toFixed(3)}, median of per-round A−B ${pairedDiff.toFixed(1)} ms)`,
    ].join('\n');
  };
  const engine = await docker.version();
  console.log(
    `\nbench/deploy: ${rounds} rounds, ${database}, Docker ${engine.Version}, Node ${process.versions.node}, ` +
      `${image}${args.profile ? ', PROFILED (timings inflated slightly)' : ''}`,
  );
  console.log(`  ${''.padEnd(46)}${'median'.padStart(8)}${'p90'.padStart(8)}${'mean'.padStart(8)}  (ms)`);
  console.log('Deploy, unchanged image, no hook');
  console.log(line('A  deployService(wait: true) over HTTP', deploy.a));
  console.log(line('B  raw pull, stop, remove, create, start', deploy.b));
  console.log(verdict(deploy.a, deploy.b, TARGETS.deploy));
  for (const [name, xs] of Object.entries(apiSteps)) console.log(line(`     A step "${name}" (server-side durationMs)`, xs));
  for (const [name, xs] of Object.entries(rawSteps)) console.log(line(`     B ${name}`, xs));
  console.log('Start');
  console.log(line('A  startService over HTTP', start.a));
  console.log(line('B  raw container.restart()', start.b));
  console.log(verdict(start.a, start.b, TARGETS.start));
  console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s including set-up)`);

  if (args.profile) {
    for (const bucket of ['deploy A', 'deploy B', 'start A', 'start B', 'stubbed deploy', 'stubbed start']) {
      const rows = profiler.table(bucket);
      console.log(`\nprofile: ${bucket} — per round, median of the total time in each (self time where noted; nested spans overlap)`);
      for (const row of rows) console.log(`  ${row.name.padEnd(70)}${ms(row.ms)} ms  ×${row.calls}`);
    }
    // Where A's extra time goes, per round (medians of per-round values, so they need not add up exactly).
    const engineCalls = /^docker {2}engine\./;
    const extraEngine = /^engine {2}(GET \/images\/|GET \/containers\/|GET \/networks\/|POST \/containers\/\{id\}\/rename)/;
    const dbMethods = /^method {2}(deployer\.load|deployer\.withLock|runs\.(create|setStatus|markStarted|finish|lastSuccessfulDigest|step)|state\.transition)/;
    for (const [kind, server] of [['deploy', 'server  deployer.deploy (whole run, resolver to result)'], ['start', 'server  deployer.start (whole run, resolver to result)']] as const) {
      const bucket = `${kind} A`;
      console.log(`\nprofile: where ${kind} A spends its time beyond the Engine (per round, median)`);
      const show = (label: string, value: number) => console.log(`  ${label.padEnd(70)}${ms(value)} ms`);
      show('client end-to-end − server run  (HTTP, GraphQL, auth, response)', profiler.derived(bucket, (t) => t('client  end-to-end') - t(server)));
      show('server run − Docker engine.* calls  (bookkeeping: DB, JS)', profiler.derived(bucket, (t) => t(server) - t(engineCalls)));
      show('  of which the deployer/recorder/state DB methods listed above', profiler.derived(bucket, (t) => t(dbMethods)));
      const driver = database === 'pglite' ? /^db {6}pglite (execProtocolRawSync|syncToFs)/ : /^db {6}pg /;
      show(`  of which in the database driver (${database === 'pglite' ? 'PGlite wasm, blocks this thread' : 'pg queries'})`, profiler.derived(bucket, (t) => t(driver)));
      show('Engine calls the raw sequence does not make (inspects, rename)', profiler.derived(bucket, (t) => t(extraEngine)));
    }
    if (stubbed) {
      console.log(`\nprofile: Spunto alone, every Engine call answered at once (${stubbed.deploy.length} of each; client end-to-end)`);
      console.log(line('deployService(wait: true), Engine stubbed', stubbed.deploy));
      console.log(line('startService, Engine stubbed', stubbed.start));
    }
  }
}

let exitCode = 0;
try {
  await main();
} catch (err) {
  exitCode = err instanceof Interrupted ? 130 : 1;
  if (!(err instanceof Interrupted)) console.error(err);
} finally {
  await cleanup();
}
process.exit(exitCode);
