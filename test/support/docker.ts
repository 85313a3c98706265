// Direct Engine access for assertions: what really runs, independent of the API.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { dockerOptionsFor } from '../../services/docker/clients.ts';
import { infra } from './infra.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..', '..');

export function docker(): Docker {
  return new Docker(dockerOptionsFor(infra().dockerHost));
}

/** Pushes the web test image to the local registry as `tag`, serving `message`. */
export async function pushWeb(tag: string, message: string): Promise<string> {
  await run('bash', [path.join(root, 'scripts', 'infra.sh'), 'push-web', tag, message], { timeout: 120_000 });
  return `${infra().registry}/spunto/web:${tag}`;
}

/**
 * HTTP GET through the container's published loopback port. A container that just
 * (re)started may not listen yet, so refused or reset connections are retried briefly.
 */
export async function fetchFromContainer(containerId: string, port = 8080): Promise<string> {
  const info = await docker().getContainer(containerId).inspect();
  const binding = info.NetworkSettings.Ports[`${port}/tcp`]?.find((b) => b.HostIp === '127.0.0.1');
  if (!binding) throw new Error(`container ${containerId} publishes no loopback port for ${port}`);
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`http://127.0.0.1:${binding.HostPort}/`);
      return await res.text();
    } catch (error) {
      if (attempt >= 50) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Runs argv inside a running container (Engine exec), returning stdout+stderr and the exit code. */
export async function exec(containerId: string, cmd: string[]): Promise<{ output: string; exitCode: number }> {
  const container = docker().getContainer(containerId);
  const e = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await e.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  // Strip the 8-byte multiplexing headers.
  const raw = Buffer.concat(chunks);
  let output = '';
  for (let i = 0; i + 8 <= raw.length; ) {
    const size = raw.readUInt32BE(i + 4);
    output += raw.subarray(i + 8, i + 8 + size).toString();
    i += 8 + size;
  }
  const { ExitCode } = await e.inspect();
  return { output, exitCode: ExitCode ?? -1 };
}

/** The container's environment, read from inside it. */
export async function containerEnv(containerId: string): Promise<Record<string, string>> {
  const { output } = await exec(containerId, ['env']);
  return Object.fromEntries(output.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

export async function ownedBy(deploymentId: string) {
  const filters = { label: [`spunto.deployment=${deploymentId}`] };
  const [containers, networks] = await Promise.all([
    docker().listContainers({ all: true, filters }),
    docker().listNetworks({ filters }),
  ]);
  return { containers, networks };
}
