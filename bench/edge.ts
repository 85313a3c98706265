// Requests per second through the edge proxy vs through nginx (Debian's package) in front of
// the same upstream container, measured in one run with the same load tool (wrk).
//
//   npx tsx bench/edge.ts [--duration 10] [--rounds 3] [--connections 64] [--threads 2]
//
// The upstream is a service deployed through the API (the busybox web test image). The edge
// routes to its published loopback port by Host; nginx runs from its own config in a temp dir
// on another loopback port, proxying to the same port with upstream keep-alive and the same
// forwarded headers. Edge and nginx alternate, which goes first flips every round, and the
// median of the rounds is compared. For scale, also measured: the upstream alone, and a bare
// http-proxy-3 server in this same process (no routing, no pages, no headers) — what the
// library costs by itself, so the edge's own overhead is the difference to it.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { createProxyServer } from 'http-proxy-3';
import {
  CreateDeploymentDocument,
  CreateServiceDocument,
  DeleteDeploymentWithVolumesDocument,
  DeployServiceDocument,
  ServiceDomainDocument,
} from '../client/generated/graphql.ts';
import { startTestApp, type TestApp } from '../test/support/app.ts';
import { docker } from '../test/support/docker.ts';
import { edgeRequest, freePort } from '../test/support/edge.ts';
import { infra } from '../test/support/infra.ts';

const TARGET = 0.6;
const BASE = 'bench.test';
const run = promisify(execFile);

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    threads: { type: 'string', default: '2' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log('usage: npx tsx bench/edge.ts [--duration SECONDS] [--rounds N] [--connections N] [--threads N]');
  process.exit(0);
}
const duration = Number(args.duration);
const rounds = Number(args.rounds);
const connections = Number(args.connections);
const threads = Number(args.threads);
for (const [name, value] of Object.entries({ duration, rounds, connections, threads })) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
}

interface WrkResult {
  rps: number;
  latencyAvg: string;
  errors: number;
  non2xx: number;
}

/** One wrk run; `Requests/sec`, average latency, socket errors and non-2xx answers from its report. */
async function wrk(url: string, host: string, seconds: number): Promise<WrkResult> {
  const { stdout } = await run('wrk', ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '-H', `Host: ${host}`, url], {
    timeout: (seconds + 30) * 1000,
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  if (!Number.isFinite(rps)) throw new Error(`could not read wrk's output:\n${stdout}`);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  return {
    rps,
    latencyAvg: /Latency\s+(\S+)/.exec(stdout)?.[1] ?? '?',
    errors: errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0),
  };
}

function nginxConfig(dir: string, listen: number, upstream: number, workers: string): string {
  return `worker_processes ${workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream app {
    server 127.0.0.1:${upstream};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${listen};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
    }
  }
}
`;
}

/** Starts nginx in the foreground (daemon off) so the child's pid is nginx's master. */
async function startNginx(dir: string, port: number, upstream: number, workers: string): Promise<ChildProcess> {
  await mkdir(dir, { recursive: true });
  const conf = path.join(dir, 'nginx.conf');
  await writeFile(conf, nginxConfig(dir, port, upstream, workers));
  const child = spawn('nginx', ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c));
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${stderr}`);
    const ok = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok, () => false);
    if (ok) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nginx did not answer on ${port}: ${stderr}`);
}

async function stopNginx(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid || child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGQUIT');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (child.exitCode === null) process.kill(child.pid, 'SIGKILL');
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x: number) => x.toFixed(0).padStart(8);

let app: TestApp | undefined;
let bare: http.Server | undefined;
let deploymentId: string | undefined;
const nginx: ChildProcess[] = [];
const tmp = await mkdtemp(path.join(os.tmpdir(), 'spunto-bench-edge-'));

async function cleanup(): Promise<void> {
  await Promise.all(nginx.map((child) => stopNginx(child)));
  bare?.closeAllConnections();
  await new Promise((resolve) => (bare ? bare.close(resolve) : resolve(undefined)));
  if (deploymentId) await app?.client.request(DeleteDeploymentWithVolumesDocument, { id: deploymentId, removeVolumes: true }).catch(() => {});
  await app?.stop().catch(() => {});
  await rm(tmp, { recursive: true, force: true });
}
process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));

try {
  await run('wrk', ['--version']).catch((error: NodeJS.ErrnoException & { stdout?: string }) => {
    // wrk --version exits 1 after printing its version.
    if (error.code === 'ENOENT') throw new Error('wrk is not installed (apt-get install wrk)');
  });
  const edgePort = await freePort();
  app = await startTestApp({ env: { SPUNTO_EDGE_HTTP_PORT: String(edgePort), SPUNTO_BASE_DOMAIN: BASE } });
  const { createDeployment } = await app.client.request(CreateDeploymentDocument, { input: { name: 'bench' } });
  if (createDeployment.__typename !== 'MutationCreateDeploymentSuccess') throw new Error(JSON.stringify(createDeployment));
  deploymentId = createDeployment.data.id;
  const { createService } = await app.client.request(CreateServiceDocument, {
    input: { deploymentId, name: 'web', image: infra().registryImageWeb, httpPort: 8080 },
  });
  if (createService.__typename !== 'MutationCreateServiceSuccess') throw new Error(JSON.stringify(createService));
  const serviceId = createService.data.id;
  const { deployService } = await app.client.request(DeployServiceDocument, { id: serviceId, wait: true });
  if (deployService.__typename !== 'MutationDeployServiceSuccess') throw new Error(JSON.stringify(deployService));
  const { service } = await app.client.request(ServiceDomainDocument, { id: serviceId });
  const host = service!.defaultHostname;
  const info = await docker().getContainer(service!.containerId!).inspect();
  const upstream = Number(info.NetworkSettings.Ports['8080/tcp']!.find((b) => b.HostIp === '127.0.0.1')!.HostPort);

  const nginxPort = await freePort();
  const nginx1Port = await freePort();
  nginx.push(await startNginx(path.join(tmp, 'nginx-auto'), nginxPort, upstream, 'auto'));
  nginx.push(await startNginx(path.join(tmp, 'nginx-1'), nginx1Port, upstream, '1'));
  const library = createProxyServer({ agent: new http.Agent({ keepAlive: true }) });
  library.on('proxyRes', (proxyRes) => delete proxyRes.headers.connection);
  bare = http.createServer((req, res) => library.web(req, res, { target: { host: '127.0.0.1', port: upstream } }));
  await new Promise<void>((resolve) => bare!.listen(0, '127.0.0.1', resolve));
  const barePort = (bare.address() as AddressInfo).port;

  const targets = {
    edge: `http://127.0.0.1:${edgePort}/`,
    nginx: `http://127.0.0.1:${nginxPort}/`,
    'nginx (1 worker)': `http://127.0.0.1:${nginx1Port}/`,
    'bare http-proxy-3': `http://127.0.0.1:${barePort}/`,
    'upstream direct': `http://127.0.0.1:${upstream}/`,
  };
  for (const [name, url] of Object.entries(targets)) {
    const res = await edgeRequest({ port: Number(new URL(url).port), host });
    if (res.status !== 200 || res.body !== 'hello') throw new Error(`${name} at ${url} does not serve the upstream (${res.status} ${JSON.stringify(res.body)})`);
    await wrk(url, host, 2); // warm-up: connection pools, JIT
  }

  console.log(`edge benchmark: wrk -t${threads} -c${connections} -d${duration}s, ${rounds} rounds, ${os.cpus().length} CPUs, node ${process.version}`);
  console.log(`upstream: ${info.Config.Image} (busybox httpd) on 127.0.0.1:${upstream}, Host: ${host}\n`);
  const results: Record<string, WrkResult[]> = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
  // The edge runs in this process: its CPU time while wrk loads it says whether it is the bottleneck.
  const edgeCpu: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? Object.keys(targets) : Object.keys(targets).reverse();
    for (const name of order) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      const result = await wrk(targets[name as keyof typeof targets], host, duration);
      const used = process.cpuUsage(cpu);
      const busy = (used.user + used.system) / 1000 / (performance.now() - started);
      if (name === 'edge') edgeCpu.push(busy);
      results[name].push(result);
      console.log(
        `round ${round + 1}  ${name.padEnd(19)} ${fmt(result.rps)} req/s  latency ${result.latencyAvg.padStart(8)}  errors ${result.errors}  non-2xx ${result.non2xx}` +
          (name === 'edge' ? `  edge CPU ${(busy * 100).toFixed(0)}% of a core` : ''),
      );
    }
  }

  const rps = Object.fromEntries(Object.entries(results).map(([name, list]) => [name, median(list.map((r) => r.rps))]));
  console.log('\nmedian req/s');
  for (const [name, value] of Object.entries(rps)) console.log(`  ${name.padEnd(19)} ${fmt(value)}`);
  const ratio = rps.edge / rps.nginx;
  console.log(`\nedge / nginx            ${ratio.toFixed(2)}x   (target >= ${TARGET}x: ${ratio >= TARGET ? 'met' : 'NOT met'})`);
  console.log(`edge / nginx (1 worker) ${(rps.edge / rps['nginx (1 worker)']).toFixed(2)}x`);
  console.log(`edge / bare http-proxy-3 ${(rps.edge / rps['bare http-proxy-3']).toFixed(2)}x   (bare http-proxy-3 / nginx ${(rps['bare http-proxy-3'] / rps.nginx).toFixed(2)}x)`);
  console.log(`edge / upstream direct  ${(rps.edge / rps['upstream direct']).toFixed(2)}x`);
  console.log(`edge CPU while loaded   ${(median(edgeCpu) * 100).toFixed(0)}% of one core (${os.loadavg()[0].toFixed(1)} load average now)`);
  const failures = Object.entries(results).filter(([, list]) => list.some((r) => r.errors || r.non2xx));
  if (failures.length) console.log(`\nnote: socket errors or non-2xx answers in: ${failures.map(([n]) => n).join(', ')}`);
} finally {
  await cleanup();
}
