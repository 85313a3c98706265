// Host → service routes for the edge. Lookups are a map read; the table follows service
// state events (per deployment), domain changes, and a periodic resync, and a miss is
// looked up in the database once (then remembered briefly) so a new service routes at once.
import type { PrismaClient } from '../../prisma/db.ts';
import type { Prisma } from '../../prisma/generated/client/client.ts';
import type { ServiceStatus } from '../../prisma/generated/client/enums.ts';
import type { DockerEngine } from '../docker/engine.ts';
import type { DomainService } from '../domains.ts';
import type { EventBus } from '../events.ts';
import type { Logger } from '../logger.ts';

export interface Route {
  serviceId: string;
  serviceName: string;
  deploymentId: string;
  containerId: string | null;
  /** the default hostname, then the custom domain once verified */
  hostnames: string[];
  status: ServiceStatus;
  httpPort: number | null;
  /** the loopback port the container publishes httpPort on; null when it isn't running */
  port: number | null;
}

/** States in which the service is being deployed, started or stopped. */
export const BUSY: readonly ServiceStatus[] = ['PULLING', 'RUNNING_HOOK', 'STARTING', 'STOPPING'];
/** A failing or stopped route is re-read at most this often, however many requests it gets. */
const RECHECK_MS = 1_000;
const MISS_TTL_MS = 2_000;
const MAX_MISSES = 10_000;
/** Database lookups for unknown hosts per second, whatever hosts clients make up. */
const LOOKUPS_PER_SECOND = 50;
/** Docker inspects at once during a resync. */
const INSPECT_CONCURRENCY = 8;

const SERVICE_FIELDS = {
  id: true,
  name: true,
  httpPort: true,
  status: true,
  containerId: true,
  deploymentId: true,
  deployment: { select: { name: true, node: { select: { endpoint: true } } } },
  customDomain: { select: { domain: true, verifiedAt: true } },
} as const;

type ServiceRow = Prisma.ServiceGetPayload<{ select: typeof SERVICE_FIELDS }>;

export class RouteTable {
  private readonly byHost = new Map<string, Route>();
  private readonly byService = new Map<string, Route>();
  /** refreshes started per service: only the latest one may write */
  private readonly generations = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly refreshedAt = new Map<string, number>();
  private readonly watched = new Map<string, AsyncIterator<unknown>>();
  private readonly misses = new Map<string, number>();
  private lookups = { second: 0, count: 0 };
  private stopped = false;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly engineFor: (endpoint: string) => DockerEngine,
    private readonly domains: DomainService,
    private readonly events: EventBus,
    private readonly logger: Logger,
  ) {}

  lookup(host: string): Route | undefined {
    return this.byHost.get(host);
  }

  /** The route for `host`, asking the database on a miss. */
  async resolve(host: string): Promise<Route | undefined> {
    const known = this.byHost.get(host);
    if (known || !host) return known;
    const now = Date.now();
    if ((this.misses.get(host) ?? 0) > now || !this.lookupAllowed(now)) return undefined;
    const serviceId = await this.findServiceFor(host);
    if (serviceId) await this.refreshService(serviceId);
    const route = this.byHost.get(host);
    if (!route) {
      if (this.misses.size >= MAX_MISSES) this.misses.clear();
      this.misses.set(host, now + MISS_TTL_MS);
    }
    return route;
  }

  get size(): number {
    return this.byService.size;
  }

  /**
   * Re-reads every service in one query: catches renames, deletions and changes made by other
   * instances. Containers are inspected again only where the container or state changed.
   */
  async refreshAll(): Promise<void> {
    const services = await this.prisma.service.findMany({ select: SERVICE_FIELDS });
    const live = new Set(services.map((s) => s.id));
    for (const serviceId of this.byService.keys()) if (!live.has(serviceId)) this.remove(serviceId);
    const queue = [...services];
    const worker = async () => {
      for (let row = queue.shift(); row; row = queue.shift()) {
        const known = this.byService.get(row.id);
        const unchanged = known && known.containerId === row.containerId && known.status === row.status && known.httpPort === row.httpPort;
        await this.refreshService(row.id, { row, port: unchanged && known.port !== null ? known.port : undefined });
      }
    };
    await Promise.all(Array.from({ length: INSPECT_CONCURRENCY }, worker));
    const deployments = new Set([...this.byService.values()].map((r) => r.deploymentId));
    for (const [deploymentId, iterator] of this.watched) {
      if (!deployments.has(deploymentId)) {
        this.watched.delete(deploymentId);
        void iterator.return?.();
      }
    }
  }

  /**
   * The service's route as it is now, for a request that found it down or failing: joins a
   * refresh in flight (a state event just arrived) or starts one, unless one just finished.
   */
  async recheck(serviceId: string): Promise<Route | undefined> {
    const running = this.inFlight.get(serviceId);
    if (running) await running;
    else if (Date.now() - (this.refreshedAt.get(serviceId) ?? 0) >= RECHECK_MS) await this.refreshService(serviceId);
    return this.byService.get(serviceId);
  }

  /** Re-reads one service (its names, domain, state and published port) and updates its route. */
  refreshService(serviceId: string, known?: { row: ServiceRow; port?: number | null }): Promise<void> {
    const refresh = this.load(serviceId, known).finally(() => {
      if (this.inFlight.get(serviceId) === refresh) this.inFlight.delete(serviceId);
    });
    this.inFlight.set(serviceId, refresh);
    return refresh;
  }

  private async load(serviceId: string, known?: { row: ServiceRow; port?: number | null }): Promise<void> {
    const generation = (this.generations.get(serviceId) ?? 0) + 1;
    this.generations.set(serviceId, generation);
    const service = known ? known.row : await this.prisma.service.findUnique({ where: { id: serviceId }, select: SERVICE_FIELDS });
    let port: number | null = known?.port ?? null;
    if (known?.port === undefined && service?.containerId && service.httpPort) {
      try {
        port = await this.publishedPort(service.deployment.node.endpoint, service.containerId, service.httpPort);
      } catch (err) {
        // Engine unreachable: keep routing where we did; the next event or resync corrects it.
        this.logger.warn({ err, serviceId }, 'edge could not inspect the service container');
        port = this.byService.get(serviceId)?.port ?? null;
      }
    }
    if (this.generations.get(serviceId) !== generation || this.stopped) return;
    this.refreshedAt.set(serviceId, Date.now());
    if (!service) {
      this.remove(serviceId);
      return;
    }
    const hostnames = [this.domains.defaultHostname(service.name, service.deployment.name)];
    if (service.customDomain?.verifiedAt) hostnames.push(service.customDomain.domain);
    this.put({
      serviceId,
      serviceName: service.name,
      deploymentId: service.deploymentId,
      containerId: service.containerId,
      hostnames,
      status: service.status,
      httpPort: service.httpPort,
      port,
    });
    this.watch(service.deploymentId);
  }

  stop(): void {
    this.stopped = true;
    for (const iterator of this.watched.values()) void iterator.return?.();
    this.watched.clear();
  }

  private put(route: Route): void {
    this.unindex(route.serviceId);
    this.byService.set(route.serviceId, route);
    for (const host of route.hostnames) {
      this.byHost.set(host, route);
      this.misses.delete(host);
    }
  }

  /** Drops a service that no longer exists. */
  private remove(serviceId: string): void {
    this.unindex(serviceId);
    this.refreshedAt.delete(serviceId);
  }

  private unindex(serviceId: string): void {
    const old = this.byService.get(serviceId);
    if (!old) return;
    this.byService.delete(serviceId);
    for (const host of old.hostnames) if (this.byHost.get(host) === old) this.byHost.delete(host);
  }

  private lookupAllowed(now: number): boolean {
    const second = Math.floor(now / 1000);
    if (this.lookups.second !== second) this.lookups = { second, count: 0 };
    return ++this.lookups.count <= LOOKUPS_PER_SECOND;
  }

  private async findServiceFor(host: string): Promise<string | null> {
    const suffix = `.${this.domains.baseDomain}`;
    if (host.endsWith(suffix)) {
      const labels = host.slice(0, -suffix.length).split('.');
      if (labels.length !== 2) return null;
      const service = await this.prisma.service.findFirst({
        where: { name: labels[0], deployment: { name: labels[1] } },
        select: { id: true },
      });
      return service?.id ?? null;
    }
    const domain = await this.prisma.customDomain.findUnique({ where: { domain: host }, select: { serviceId: true, verifiedAt: true } });
    return domain?.verifiedAt ? domain.serviceId : null;
  }

  // The binding for httpPort; if httpPort was changed without a redeploy, the one port the container publishes.
  private async publishedPort(endpoint: string, containerId: string, httpPort: number): Promise<number | null> {
    const info = await this.engineFor(endpoint).inspectContainer(containerId);
    if (!info?.State.Running) return null;
    const ports = info.NetworkSettings.Ports ?? {};
    const loopback = (key: string) => ports[key]?.find((b) => b.HostIp === '127.0.0.1');
    const published = Object.keys(ports).filter((key) => key.endsWith('/tcp') && loopback(key));
    const binding = loopback(`${httpPort}/tcp`) ?? (published.length === 1 ? loopback(published[0]) : undefined);
    return binding ? Number(binding.HostPort) : null;
  }

  /** Follows the deployment's state transitions (deploys, stops, crashes) to keep its routes true. */
  private watch(deploymentId: string): void {
    if (this.watched.has(deploymentId) || this.stopped) return;
    const iterator = this.events.subscribe('deployment:state', deploymentId)[Symbol.asyncIterator]();
    this.watched.set(deploymentId, iterator);
    void (async () => {
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        // Not awaited: a slow inspect must not hold back later events; the newest refresh wins.
        const { serviceId } = next.value;
        this.refreshService(serviceId).catch((err) => this.logger.warn({ err, serviceId }, 'edge could not refresh a route'));
      }
    })().catch((err) => this.logger.error({ err, deploymentId }, 'edge stopped following deployment events'));
  }
}
