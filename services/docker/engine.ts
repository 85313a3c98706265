// The Docker layer: every call Spunto makes to one engine. Idempotent throughout:
// "already exists" (409/304) and "already gone" (404) count as done, and every error
// leaves here typed (see errors.ts) with the engine's own message.
import type Dockerode from 'dockerode';
import { ConflictError } from '../errors.ts';
import { buildServiceContainerSpec, realRoots, resolveFileBinds, type ServiceContainerInput } from './containerSpec.ts';
import { DockerError, hasStatus, toDockerError } from './errors.ts';
import { runHook, type HookInput, type HookResult } from './hooks.ts';
import { labelFilters, labelsFor, LABELS, networkName, volumeName, type OwnerFilter } from './names.ts';
import { inspectImage, pullImage, type ImageInfo, type PulledImage, type PullProgressEvent } from './pull.ts';
import { SingleFlight } from '../singleFlight.ts';

export class DockerEngine {
  constructor(readonly docker: Dockerode) {}

  /** Resolves when the engine answers; throws EngineUnavailableError when it doesn't. */
  async ping(): Promise<void> {
    await this.call('ping engine', () => this.docker.ping());
  }

  // --- networks -------------------------------------------------------------------------

  /** In-flight ensureNetwork calls by deployment: concurrent deploys of one deployment share one. */
  private readonly ensuring = new SingleFlight<string, string>();

  /**
   * The deployment's user-defined bridge (DNS by alias only works on those); returns its id.
   * Docker 20.10 lets two concurrent creates of one name both succeed (CheckDuplicate is
   * best effort), after which the name is "ambiguous" and containers can't use it. So calls
   * in this process share one create, and after a create the duplicates another instance may
   * have made at the same moment are removed: everyone keeps the same one (see pickNetwork).
   */
  ensureNetwork(deploymentId: string): Promise<string> {
    return this.ensuring.run(deploymentId, () => this.createOrFindNetwork(deploymentId));
  }

  private async createOrFindNetwork(deploymentId: string): Promise<string> {
    const name = networkName(deploymentId);
    const existing = await this.namedNetworks(name, deploymentId);
    if (existing.length === 1) return existing[0].Id;
    if (existing.length === 0) {
      try {
        await this.docker.createNetwork({
          Name: name,
          Driver: 'bridge',
          CheckDuplicate: true,
          Labels: labelsFor({ deploymentId, role: 'network' }),
        });
      } catch (err) {
        // 409: created concurrently; the winner's network is the one to use.
        if (!hasStatus(err, 409)) throw toDockerError(err, `create network ${name}`);
      }
    }
    return this.pickNetwork(name, await this.namedNetworks(name, deploymentId));
  }

  /**
   * One network out of same-named duplicates, the same one whoever asks: the one with
   * containers, else the oldest (by creation time, then id). The others are removed while
   * empty; one that already has containers stays, and is left for the operator.
   */
  private async pickNetwork(name: string, networks: Dockerode.NetworkInspectInfo[]): Promise<string> {
    if (networks.length === 0) throw new DockerError(`create network ${name}`, 'the network was gone right after it was created', null);
    const inUse = (n: Dockerode.NetworkInspectInfo) => Object.keys(n.Containers ?? {}).length > 0;
    const [keep, ...rest] = [...networks].sort(
      (a, b) => Number(inUse(b)) - Number(inUse(a)) || a.Created.localeCompare(b.Created) || a.Id.localeCompare(b.Id),
    );
    await Promise.allSettled(rest.filter((n) => !inUse(n)).map((n) => this.docker.getNetwork(n.Id).remove()));
    return keep.Id;
  }

  /**
   * The deployment's networks named exactly `name`. A same-named network someone else made
   * is not ours to attach services to: a ConflictError, or (not `strict`) left out.
   */
  private async namedNetworks(name: string, deploymentId: string, strict = true): Promise<Dockerode.NetworkInspectInfo[]> {
    // The name filter matches substrings; listing does not fill in Containers, inspect does.
    const listed = await this.call(`list networks ${name}`, () => this.docker.listNetworks({ filters: { name: [name] } }));
    const exact = listed.filter((n) => n.Name === name);
    if (exact.some((n) => n.Labels?.[LABELS.deployment] !== deploymentId)) {
      if (!strict) return exact.filter((n) => n.Labels?.[LABELS.deployment] === deploymentId);
      throw new ConflictError(`network ${name} exists but is not managed by Spunto for deployment ${deploymentId}`);
    }
    if (exact.length < 2) return exact;
    const inspected = await Promise.all(exact.map((n) => this.callOrDone(`inspect network ${n.Id}`, () => this.docker.getNetwork(n.Id).inspect(), [404])));
    return inspected.filter((n): n is Dockerode.NetworkInspectInfo => n !== null);
  }

  /** Removes the deployment's network (by id: a duplicate left by a racing create makes the name ambiguous). */
  async removeNetwork(deploymentId: string): Promise<void> {
    const name = networkName(deploymentId);
    for (const network of await this.namedNetworks(name, deploymentId, false)) {
      await this.callOrDone(`remove network ${name}`, () => this.docker.getNetwork(network.Id).remove(), [404]);
    }
  }

  async listOwnedNetworks(deploymentId: string): Promise<Dockerode.NetworkInspectInfo[]> {
    return this.call('list networks', () => this.docker.listNetworks({ filters: { label: labelFilters({ deploymentId }) } }));
  }

  // --- volumes --------------------------------------------------------------------------

  /** Creates the deployment's named volume if missing (creating an existing volume is a no-op). */
  async ensureVolume(deploymentId: string, name: string): Promise<string> {
    const fullName = volumeName(deploymentId, name);
    await this.call(`create volume ${fullName}`, () =>
      this.docker.createVolume({ Name: fullName, Labels: labelsFor({ deploymentId, role: 'volume' }) }),
    );
    return fullName;
  }

  async listOwnedVolumes(deploymentId: string): Promise<Dockerode.VolumeInspectInfo[]> {
    const result = await this.call('list volumes', () => this.docker.listVolumes({ filters: { label: labelFilters({ deploymentId }) } }));
    return result.Volumes ?? [];
  }

  async removeDeploymentVolumes(deploymentId: string): Promise<void> {
    const volumes = await this.listOwnedVolumes(deploymentId);
    await Promise.all(volumes.map((v) => this.removeVolume(v.Name)));
  }

  async removeVolume(name: string): Promise<void> {
    await this.callOrDone(`remove volume ${name}`, () => this.docker.getVolume(name).remove(), [404]);
  }

  private async volumeExists(name: string): Promise<boolean> {
    return (await this.callOrDone(`inspect volume ${name}`, () => this.docker.getVolume(name).inspect(), [404])) !== null;
  }

  // --- images ---------------------------------------------------------------------------

  pullImage(ref: string, onProgress?: (event: PullProgressEvent) => void, auth?: Dockerode.AuthConfig): Promise<PulledImage> {
    return pullImage(this.docker, ref, onProgress, auth);
  }

  inspectImage(ref: string): Promise<ImageInfo | null> {
    return inspectImage(this.docker, ref);
  }

  // --- containers -----------------------------------------------------------------------

  /**
   * Creates (does not start) the service container, with its network and volumes.
   * Volumes created for it are removed again if the container can't be created.
   */
  async createServiceContainer(input: ServiceContainerInput): Promise<string> {
    const fileBinds = await resolveFileBinds(input.fileBinds, input.bindRoots);
    const spec = buildServiceContainerSpec({ ...input, fileBinds, bindRoots: await realRoots(input.bindRoots) });
    await this.ensureNetwork(input.deploymentId);
    const createdVolumes: string[] = [];
    try {
      for (const volume of input.volumes) {
        const name = volumeName(input.deploymentId, volume.name);
        if (await this.volumeExists(name)) continue;
        createdVolumes.push(await this.ensureVolume(input.deploymentId, volume.name));
      }
      const container = await this.call(`create container ${spec.name}`, () => this.docker.createContainer(spec), input.image);
      return container.id;
    } catch (err) {
      // Only what this call created; an existing volume may hold data.
      await Promise.allSettled(createdVolumes.map((name) => this.removeVolume(name)));
      throw err;
    }
  }

  async startContainer(id: string): Promise<void> {
    await this.callOrDone(`start container ${id}`, () => this.docker.getContainer(id).start(), [304]);
  }

  async stopContainer(id: string, timeoutSeconds = 10): Promise<void> {
    await this.callOrDone(`stop container ${id}`, () => this.docker.getContainer(id).stop({ t: timeoutSeconds }), [304]);
  }

  async restartContainer(id: string, timeoutSeconds = 10): Promise<void> {
    await this.call(`restart container ${id}`, () => this.docker.getContainer(id).restart({ t: timeoutSeconds }));
  }

  /** Removes the container and its anonymous volumes; named volumes stay. */
  async removeContainer(id: string, options: { force?: boolean } = {}): Promise<void> {
    // 409 here means a removal is already in progress.
    await this.callOrDone(`remove container ${id}`, () => this.docker.getContainer(id).remove({ force: options.force ?? false, v: true }), [404, 409]);
  }

  async renameContainer(id: string, name: string): Promise<void> {
    await this.call(`rename container ${id}`, () => this.docker.getContainer(id).rename({ name }));
  }

  async inspectContainer(id: string): Promise<Dockerode.ContainerInspectInfo | null> {
    return this.callOrDone(`inspect container ${id}`, () => this.docker.getContainer(id).inspect(), [404]);
  }

  /** The loopback host port published for `httpPort`; null when the container isn't running. */
  async publishedPort(id: string, httpPort: number): Promise<number | null> {
    const info = await this.inspectContainer(id);
    const bindings = info?.NetworkSettings.Ports?.[`${httpPort}/tcp`] ?? [];
    const loopback = bindings.find((b) => b.HostIp === '127.0.0.1');
    return loopback ? Number(loopback.HostPort) : null;
  }

  async listOwnedContainers(filter: OwnerFilter = {}): Promise<Dockerode.ContainerInfo[]> {
    return this.call('list containers', () => this.docker.listContainers({ all: true, filters: { label: labelFilters(filter) } }));
  }

  runHook(input: HookInput): Promise<HookResult> {
    return runHook(this.docker, input);
  }

  /** Everything the deployment owns on this engine: containers (forced), the network, optionally volumes. */
  async removeDeploymentObjects(deploymentId: string, options: { volumes: boolean }): Promise<void> {
    const containers = await this.listOwnedContainers({ deploymentId });
    await Promise.all(containers.map((c) => this.removeContainer(c.Id, { force: true })));
    const networks = await this.listOwnedNetworks(deploymentId);
    await Promise.all(
      networks.map((n) => this.callOrDone(`remove network ${n.Name}`, () => this.docker.getNetwork(n.Id).remove(), [404])),
    );
    if (options.volumes) await this.removeDeploymentVolumes(deploymentId);
  }

  /** Runs one Engine call and classifies its failure. */
  private async call<T>(context: string, fn: () => Promise<T>, image?: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toDockerError(err, context, image);
    }
  }

  /** Like `call`, but the statuses in `done` ("already gone", "not modified") resolve to null. */
  private async callOrDone<T>(context: string, fn: () => Promise<T>, done: number[]): Promise<T | null> {
    try {
      return await fn();
    } catch (err) {
      if (hasStatus(err, ...done)) return null;
      throw toDockerError(err, context);
    }
  }
}
