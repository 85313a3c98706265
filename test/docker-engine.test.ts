// The Docker layer against the real engine and registry from scripts/infra.sh. Every
// object carries this run's deployment ids, and afterAll removes them by label.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, ValidationError } from '../services/errors.ts';
import { dockerOptionsFor } from '../services/docker/clients.ts';
import { buildServiceContainerSpec, resolveFileBinds, type ServiceContainerInput } from '../services/docker/containerSpec.ts';
import { DockerEngine } from '../services/docker/engine.ts';
import {
  DockerError,
  EngineUnavailableError,
  ImageNotFoundError,
  RegistryAuthError,
  RegistryUnreachableError,
  toDockerError,
} from '../services/docker/errors.ts';
import { HOOK_OUTPUT_LIMIT } from '../services/docker/hooks.ts';
import { LABELS, labelsFor, networkName, volumeName } from '../services/docker/names.ts';
import { infra } from './support/infra.ts';

const env = infra();
const docker = new Docker(dockerOptionsFor(env.dockerHost));
const engine = new DockerEngine(docker);
const run = `t${Date.now().toString(36)}`;
const deploymentA = `${run}a`;
const deploymentB = `${run}b`;
let tmpRoot: string;

function serviceInput(overrides: Partial<ServiceContainerInput> & { serviceId: string; serviceName: string }): ServiceContainerInput {
  return {
    deploymentId: deploymentA,
    image: env.imageBusybox,
    env: [],
    httpPort: null,
    volumes: [],
    fileBinds: [],
    command: 'idle',
    bindRoots: [],
    ...overrides,
  };
}

/** Runs argv inside a running container (TTY, so no demultiplexing) and returns its output. */
async function exec(containerId: string, cmd: string[]): Promise<{ exitCode: number | null; output: string }> {
  const execution = await docker.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: true });
  const stream = await execution.start({ hijack: true, stdin: false, Tty: true });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  return { exitCode: (await execution.inspect()).ExitCode, output: Buffer.concat(chunks).toString('utf8') };
}

async function eventually<T>(fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

beforeAll(async () => {
  tmpRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'spunto-binds-'));
});

afterAll(async () => {
  for (const deploymentId of [deploymentA, deploymentB]) {
    await engine.removeDeploymentObjects(deploymentId, { volumes: true });
  }
  await fs.rm(tmpRoot, { recursive: true, force: true });
});

describe('buildServiceContainerSpec', () => {
  const spec = buildServiceContainerSpec({
    deploymentId: 'dep1',
    serviceId: 'svc1',
    serviceName: 'api',
    image: '127.0.0.1:5000/spunto/web@sha256:' + 'a'.repeat(64),
    env: [{ key: 'A', value: 'x=y z' }],
    httpPort: 3000,
    volumes: [{ name: 'data', mountPath: '/data' }],
    fileBinds: [{ hostPath: '/srv/binds/conf.yml', containerPath: '/etc/conf.yml', readOnly: true }],
    command: 'sh -c "echo a && echo b"',
    bindRoots: ['/srv/binds'],
    extraLabels: { [LABELS.deployment]: 'forged', team: 'core' },
  });

  it('runs the command as argv: first word as entrypoint, no host shell', () => {
    expect(spec.Entrypoint).toEqual(['sh']);
    expect(spec.Cmd).toEqual(['-c', 'echo a && echo b']);
  });

  it('publishes the http port on an ephemeral loopback port only', () => {
    expect(spec.ExposedPorts).toEqual({ '3000/tcp': {} });
    expect(spec.HostConfig?.PortBindings).toEqual({ '3000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
  });

  it('joins the deployment network under the service name', () => {
    expect(spec.HostConfig?.NetworkMode).toBe('mp-dep-dep1');
    expect(spec.NetworkingConfig?.EndpointsConfig?.['mp-dep-dep1']).toEqual({ Aliases: ['api'] });
  });

  it('names, labels, env, mounts and restart policy', () => {
    expect(spec.name).toBe('mp-svc-svc1');
    expect(spec.Labels).toEqual({
      team: 'core',
      [LABELS.managed]: 'true',
      [LABELS.deployment]: 'dep1',
      [LABELS.service]: 'svc1',
      [LABELS.role]: 'service',
    });
    expect(spec.Env).toEqual(['A=x=y z']);
    expect(spec.HostConfig?.Binds).toEqual(['mp-vol-dep1-data:/data', '/srv/binds/conf.yml:/etc/conf.yml:ro']);
    expect(spec.HostConfig?.RestartPolicy).toEqual({ Name: 'unless-stopped' });
  });

  it('keeps the image CMD/ENTRYPOINT without a command and publishes nothing without a port', () => {
    const plain = buildServiceContainerSpec(serviceInput({ serviceId: 's', serviceName: 'plain', command: null }));
    expect(plain.Entrypoint).toBeUndefined();
    expect(plain.Cmd).toBeUndefined();
    expect(plain.ExposedPorts).toBeUndefined();
    expect(plain.HostConfig?.PortBindings).toBeUndefined();
  });

  it('refuses shell operators and binds outside the roots', () => {
    expect(() => buildServiceContainerSpec(serviceInput({ serviceId: 's', serviceName: 'x', command: 'a && b' }))).toThrow(ValidationError);
    expect(() =>
      buildServiceContainerSpec(
        serviceInput({
          serviceId: 's',
          serviceName: 'x',
          bindRoots: ['/srv/binds'],
          fileBinds: [{ hostPath: '/srv/bindsX/f', containerPath: '/f', readOnly: false }],
        }),
      ),
    ).toThrow(ValidationError);
  });
});

describe('toDockerError', () => {
  it('classifies error entries of a pull stream', () => {
    const entry = (message: string) => ({ error: message, errorDetail: { message } });
    expect(toDockerError(entry('manifest for r/x:1 not found: manifest unknown: manifest unknown'), 'pull r/x:1', 'r/x:1')).toBeInstanceOf(ImageNotFoundError);
    expect(toDockerError(entry('unauthorized: authentication required'), 'pull r/x:1', 'r/x:1')).toBeInstanceOf(RegistryAuthError);
    expect(toDockerError(entry('Get "https://r/v2/": dial tcp: lookup r: no such host'), 'pull r/x:1', 'r/x:1')).toBeInstanceOf(RegistryUnreachableError);
  });

  it("keeps the engine's words and status, without dockerode's prefix", () => {
    const err = Object.assign(new Error('(HTTP code 409) unexpected - Conflict. The container name "/x" is already in use '), { statusCode: 409 });
    const typed = toDockerError(err, 'create container x');
    expect(typed).toBeInstanceOf(DockerError);
    expect(typed).toMatchObject({ code: 'DOCKER_ERROR', statusCode: 409, engineMessage: 'Conflict. The container name "/x" is already in use' });
    expect(typed.message).toBe('create container x: Conflict. The container name "/x" is already in use');
  });
});

describe('resolveFileBinds', () => {
  it('accepts a real file under the root and returns its real path', async () => {
    await fs.writeFile(path.join(tmpRoot, 'app.conf'), 'ok');
    const [bind] = await resolveFileBinds([{ hostPath: path.join(tmpRoot, 'app.conf'), containerPath: '/app.conf', readOnly: true }], [tmpRoot]);
    expect(bind.hostPath).toBe(path.join(await fs.realpath(tmpRoot), 'app.conf'));
  });

  it('refuses a symlink that escapes the root, and missing paths', async () => {
    await fs.symlink('/etc', path.join(tmpRoot, 'escape'));
    const escape = resolveFileBinds([{ hostPath: path.join(tmpRoot, 'escape', 'passwd'), containerPath: '/p', readOnly: true }], [tmpRoot]);
    await expect(escape).rejects.toThrow(ValidationError);
    await expect(escape).rejects.toThrow(/resolves to \/etc\/passwd, outside the allowed roots/);
    const missing = resolveFileBinds([{ hostPath: path.join(tmpRoot, 'nope'), containerPath: '/p', readOnly: true }], [tmpRoot]);
    await expect(missing).rejects.toThrow(/does not exist/);
  });
});

describe('networks and volumes', () => {
  it('ensureNetwork twice gives the same labelled bridge', async () => {
    const first = await engine.ensureNetwork(deploymentA);
    const second = await engine.ensureNetwork(deploymentA);
    expect(second).toBe(first);
    const owned = await engine.listOwnedNetworks(deploymentA);
    expect(owned.map((n) => n.Id)).toEqual([first]);
    expect(owned[0]).toMatchObject({ Name: networkName(deploymentA), Driver: 'bridge' });
    expect(owned[0].Labels).toMatchObject(labelsFor({ deploymentId: deploymentA, role: 'network' }));
  });

  it('ensureVolume twice gives the same labelled volume, namespaced by deployment', async () => {
    expect(await engine.ensureVolume(deploymentA, 'cache')).toBe(volumeName(deploymentA, 'cache'));
    expect(await engine.ensureVolume(deploymentA, 'cache')).toBe(volumeName(deploymentA, 'cache'));
    expect(await engine.ensureVolume(deploymentB, 'cache')).toBe(volumeName(deploymentB, 'cache'));
    const owned = await engine.listOwnedVolumes(deploymentA);
    expect(owned.map((v) => v.Name)).toEqual([volumeName(deploymentA, 'cache')]);
    expect(owned[0].Labels).toMatchObject({ [LABELS.deployment]: deploymentA, [LABELS.role]: 'volume' });
  });

  it('concurrent ensureNetwork calls, in one process or two, end with one network', async () => {
    const deploymentId = `${run}n`;
    // A second engine object stands for another API instance: it shares nothing in memory.
    const other = new DockerEngine(new Docker(dockerOptionsFor(env.dockerHost)));
    try {
      const ids = await Promise.all([
        ...Array.from({ length: 4 }, () => engine.ensureNetwork(deploymentId)),
        ...Array.from({ length: 4 }, () => other.ensureNetwork(deploymentId)),
      ]);
      const owned = await engine.listOwnedNetworks(deploymentId);
      expect(owned.map((n) => n.Id)).toEqual([ids[0]]);
      expect(new Set(ids)).toEqual(new Set([ids[0]]));
    } finally {
      await engine.removeNetwork(deploymentId);
    }
  });

  it('settles duplicates an earlier racing create left behind, and removes them all', async () => {
    const deploymentId = `${run}d`;
    const labels = labelsFor({ deploymentId, role: 'network' });
    // What Docker 20.10 allows when two creates race: two networks with one name.
    const made = [];
    for (let i = 0; i < 2; i++) made.push(await docker.createNetwork({ Name: networkName(deploymentId), Driver: 'bridge', CheckDuplicate: false, Labels: labels }));
    try {
      const kept = await engine.ensureNetwork(deploymentId);
      expect(made.map((n) => n.id)).toContain(kept);
      expect((await engine.listOwnedNetworks(deploymentId)).map((n) => n.Id)).toEqual([kept]);
      // The name is usable again: a container can join the network by it.
      const container = await docker.createContainer({ Image: env.registryImageBusybox, Cmd: ['true'], HostConfig: { NetworkMode: networkName(deploymentId) } });
      await container.start();
      await container.remove({ force: true });
      // Duplicates again, now removed by deleting the deployment's network.
      await docker.createNetwork({ Name: networkName(deploymentId), Driver: 'bridge', CheckDuplicate: false, Labels: labels });
      await engine.removeNetwork(deploymentId);
      expect(await engine.listOwnedNetworks(deploymentId)).toEqual([]);
    } finally {
      for (const n of made) await n.remove().catch(() => undefined);
    }
  });

  it('refuses a same-named network that Spunto does not own', async () => {
    const foreign = await docker.createNetwork({ Name: networkName(`${run}c`), Driver: 'bridge' });
    try {
      await expect(engine.ensureNetwork(`${run}c`)).rejects.toBeInstanceOf(ConflictError);
    } finally {
      await foreign.remove();
    }
  });

  it('removeNetwork and removeDeploymentVolumes are idempotent', async () => {
    await engine.ensureNetwork(deploymentB);
    await engine.removeNetwork(deploymentB);
    await engine.removeNetwork(deploymentB);
    await engine.removeDeploymentVolumes(deploymentB);
    await engine.removeDeploymentVolumes(deploymentB);
    expect(await engine.listOwnedNetworks(deploymentB)).toEqual([]);
    expect(await engine.listOwnedVolumes(deploymentB)).toEqual([]);
  });
});

describe('images', () => {
  it('pulls from the registry and returns the repo digest', async () => {
    const events: unknown[] = [];
    const pulled = await engine.pullImage(env.registryImageBusybox, (event) => events.push(event));
    expect(pulled.repoDigest).toMatch(/^127\.0\.0\.1:5000\/spunto\/busybox@sha256:[0-9a-f]{64}$/);
    expect(pulled.imageId).toMatch(/^sha256:/);
    expect(events.length).toBeGreaterThan(0);
    expect((await engine.inspectImage(pulled.repoDigest!))?.imageId).toBe(pulled.imageId);
  });

  it('force-pulls a tag that only exists in the registry', async () => {
    const { stdout } = await promisify(execFile)('bash', ['scripts/infra.sh', 'push-web', run, `pulled ${run}`]);
    const pushed = stdout.trim().split('\n').pop()!;
    const ref = `${env.registry}/spunto/web:${run}`;
    expect(await engine.inspectImage(ref)).toBeNull();
    const pulled = await engine.pullImage(ref);
    expect(pushed).toBe(`${ref}@${pulled.repoDigest!.split('@')[1]}`);
    await docker.getImage(ref).remove();
  });

  it('has no repo digest for a local-only image, and null for a missing one', async () => {
    expect((await engine.inspectImage(env.imageBusybox))?.repoDigest).toBeNull();
    expect(await engine.inspectImage(`spunto-test/missing-${run}:latest`)).toBeNull();
  });

  it('classifies a missing image', async () => {
    const pull = engine.pullImage(`${env.registry}/spunto/does-not-exist:latest`);
    await expect(pull).rejects.toBeInstanceOf(ImageNotFoundError);
    await expect(pull).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND', statusCode: 404, message: /manifest unknown/ });
  });

  it('classifies an unreachable registry', async () => {
    const pull = engine.pullImage('127.0.0.1:1/x:y');
    await expect(pull).rejects.toBeInstanceOf(RegistryUnreachableError);
    await expect(pull).rejects.toMatchObject({ code: 'REGISTRY_UNREACHABLE', message: /connection refused/ });
  });

  it('classifies an engine that is not there', async () => {
    const nowhere = new DockerEngine(new Docker({ socketPath: path.join(os.tmpdir(), `no-docker-${run}.sock`) }));
    await expect(nowhere.ping()).rejects.toBeInstanceOf(EngineUnavailableError);
  });
});

describe('service containers', () => {
  const message = `hello from ${run}`;
  let webId: string;
  let clientId: string;

  beforeAll(async () => {
    webId = await engine.createServiceContainer(
      serviceInput({ serviceId: `${run}-web`, serviceName: 'web', image: env.imageWeb, command: null, httpPort: 8080, env: [{ key: 'MESSAGE', value: message }] }),
    );
    clientId = await engine.createServiceContainer(serviceInput({ serviceId: `${run}-client`, serviceName: 'client' }));
    await engine.startContainer(webId);
    await engine.startContainer(clientId);
  });

  it('reach each other by service name on the deployment network', async () => {
    const { output } = await eventually(async () => {
      const result = await exec(clientId, ['timeout', '5', 'wget', '-qO-', 'http://web:8080']);
      if (result.exitCode !== 0) throw new Error(`wget exited ${result.exitCode}: ${result.output}`);
      return result;
    });
    expect(output).toBe(message);
  });

  it('publish the http port on 127.0.0.1 only', async () => {
    const port = await engine.publishedPort(webId, 8080);
    expect(port).toBeGreaterThan(0);
    const bindings = (await engine.inspectContainer(webId))?.NetworkSettings.Ports['8080/tcp'];
    expect(bindings?.map((b) => b.HostIp)).toEqual(['127.0.0.1']);
    const body = await eventually(async () => (await fetch(`http://127.0.0.1:${port}/`)).text());
    expect(body).toBe(message);
  });

  it('are found by label', async () => {
    const owned = await engine.listOwnedContainers({ deploymentId: deploymentA, role: 'service' });
    expect(owned.map((c) => c.Id).sort()).toEqual([webId, clientId].sort());
    expect(await engine.listOwnedContainers({ serviceId: `${run}-web` })).toHaveLength(1);
  });

  it('start, stop and remove are idempotent', async () => {
    await engine.startContainer(clientId);
    await engine.stopContainer(clientId, 5);
    await engine.stopContainer(clientId, 5);
    expect((await engine.inspectContainer(clientId))?.State.Running).toBe(false);
    expect(await engine.publishedPort(clientId, 8080)).toBeNull();
    await engine.restartContainer(clientId);
    expect((await engine.inspectContainer(clientId))?.State.Running).toBe(true);
    await engine.removeContainer(clientId, { force: true });
    await engine.removeContainer(clientId, { force: true });
    expect(await engine.inspectContainer(clientId)).toBeNull();
  });

  it('keep named-volume data across remove and recreate', async () => {
    const input = serviceInput({ serviceId: `${run}-db`, serviceName: 'db', volumes: [{ name: 'data', mountPath: '/data' }] });
    const first = await engine.createServiceContainer(input);
    await engine.startContainer(first);
    expect((await exec(first, ['sh', '-c', `echo kept-${run} > /data/file`])).exitCode).toBe(0);
    await engine.removeContainer(first, { force: true });

    const second = await engine.createServiceContainer(input);
    expect(second).not.toBe(first);
    await engine.startContainer(second);
    expect((await exec(second, ['cat', '/data/file'])).output.trim()).toBe(`kept-${run}`);
  });

  it('leaves no volume behind when the container cannot be created', async () => {
    const create = engine.createServiceContainer(
      serviceInput({ serviceId: `${run}-bad`, serviceName: 'bad', image: `spunto-test/missing-${run}:latest`, volumes: [{ name: 'orphan', mountPath: '/o' }] }),
    );
    await expect(create).rejects.toBeInstanceOf(ImageNotFoundError);
    const volumes = await engine.listOwnedVolumes(deploymentA);
    expect(volumes.map((v) => v.Name)).not.toContain(volumeName(deploymentA, 'orphan'));
  });
});

describe('runHook', () => {
  const hook = (id: string, command: string, timeoutMs = 20_000) => {
    const lines: [string, string][] = [];
    const result = engine.runHook({
      id: `${run}-${id}`,
      image: env.imageBusybox,
      env: [{ key: 'GREETING', value: 'hi there' }],
      networkName: networkName(deploymentA),
      command,
      timeoutMs,
      labels: labelsFor({ deploymentId: deploymentA, serviceId: `${run}-web`, role: 'hook' }),
      onOutput: (stream, line) => lines.push([stream, line]),
    });
    return { result, lines };
  };

  beforeAll(() => engine.ensureNetwork(deploymentA));

  it('captures output and exit 0, streaming lines as they come', async () => {
    const { result, lines } = hook('ok', 'sh -c "echo $GREETING; echo oops >&2; printf partial"');
    expect(await result).toEqual({ exitCode: 0, output: expect.stringContaining('hi there'), truncated: false, timedOut: false });
    expect((await result).output).toMatch(/oops/);
    expect(lines).toContainEqual(['stdout', 'hi there']);
    expect(lines).toContainEqual(['stderr', 'oops']);
    expect(lines).toContainEqual(['stdout', 'partial']);
  });

  it('reports a non-zero exit with its output', async () => {
    const { result } = hook('fail', 'sh -c "echo migration failed; exit 3"');
    expect(await result).toMatchObject({ exitCode: 3, output: 'migration failed\n', timedOut: false });
  });

  it('runs on the deployment network', async () => {
    await engine.ensureNetwork(deploymentA);
    const { result } = hook('net', 'timeout 5 wget -qO- http://web:8080');
    expect(await result).toMatchObject({ exitCode: 0, output: `hello from ${run}` });
  });

  it('reports a command that cannot be executed as exit 127', async () => {
    const { result } = hook('missing', `no-such-binary-${run}`);
    expect(await result).toMatchObject({ exitCode: 127, output: expect.stringMatching(/executable file not found/) });
  });

  it('keeps only the last 64 KiB of output', async () => {
    const { result } = hook('big', 'sh -c "seq 1 40000; echo last-line"');
    const { output, truncated } = await result;
    expect(truncated).toBe(true);
    expect(output).toMatch(/^\[output truncated/);
    expect(output.endsWith('40000\nlast-line\n')).toBe(true);
    expect(Buffer.byteLength(output)).toBeLessThanOrEqual(HOOK_OUTPUT_LIMIT + 100);
  });

  it('kills a hook that runs too long and removes it', async () => {
    const started = Date.now();
    const { result } = hook('slow', 'sh -c "echo started; sleep 60"', 1_500);
    expect(await result).toMatchObject({ exitCode: null, timedOut: true, output: 'started\n' });
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('leaves no hook container behind', async () => {
    expect(await engine.listOwnedContainers({ deploymentId: deploymentA, role: 'hook' })).toEqual([]);
  });
});

describe('removeDeploymentObjects', () => {
  it('leaves nothing labelled with the deployment', async () => {
    await engine.removeDeploymentObjects(deploymentA, { volumes: true });
    await engine.removeDeploymentObjects(deploymentA, { volumes: true });
    expect(await engine.listOwnedContainers({ deploymentId: deploymentA })).toEqual([]);
    expect(await engine.listOwnedNetworks(deploymentA)).toEqual([]);
    expect(await engine.listOwnedVolumes(deploymentA)).toEqual([]);
  });
});
