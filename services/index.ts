// The domain services, wired once by the composition root.
import type { PrismaClient } from '../prisma/db.ts';
import { createDomainServices, type DomainSettings } from './domains.ts';
import { AuthService } from './auth.ts';
import { Deployer } from './deployer.ts';
import { DeploymentService } from './deployments.ts';
import { DockerClients } from './docker/clients.ts';
import { DockerEngine } from './docker/engine.ts';
import type { EventBus } from './events.ts';
import { JobService } from './jobs.ts';
import { PresetService } from './presets/presets.ts';
import { Scheduler } from './scheduler.ts';
import type { Logger } from './logger.ts';
import { LogHub } from './logs/hub.ts';
import { InstanceRegistry } from './instances.ts';
import { NodeService } from './nodes.ts';
import type { SecretBox } from './secrets.ts';
import { ServiceConfigService } from './serviceConfigs.ts';
import { ServiceStateMachine } from './serviceState.ts';
import { StateSync } from './stateSync.ts';

export interface ServiceDeps {
  prisma: PrismaClient;
  secrets: SecretBox;
  events: EventBus;
  logger: Logger;
  bindRoots: string[];
  hookTimeoutSeconds: number;
  /** custom domains, TXT verification and certificates; defaults: base "localhost", no certificates */
  domains?: DomainSettings;
}

export function createServices({ prisma, secrets, events, logger, bindRoots, hookTimeoutSeconds, domains }: ServiceDeps) {
  const nodes = new NodeService(prisma);
  const clients = new DockerClients();
  const engines = new Map<string, DockerEngine>();
  const engineFor = (endpoint: string) => {
    let engine = engines.get(endpoint);
    if (!engine) engines.set(endpoint, (engine = new DockerEngine(clients.forEndpoint(endpoint))));
    return engine;
  };
  const serviceConfigs = new ServiceConfigService(prisma, secrets, bindRoots);
  const state = new ServiceStateMachine(prisma, events);
  const instances = new InstanceRegistry(prisma);
  const jobs = new JobService(prisma, engineFor, events, logger);
  return {
    instances,
    auth: new AuthService(prisma),
    nodes,
    engineFor,
    events,
    state,
    stateSync: new StateSync(prisma, state, engineFor, logger),
    deployments: new DeploymentService(prisma, nodes),
    serviceConfigs,
    logs: new LogHub({ prisma, events, engineFor, logger }),
    jobs,
    scheduler: new Scheduler(prisma, jobs, logger),
    presets: new PresetService(serviceConfigs),
    ...createDomainServices(prisma, secrets, logger, domains),
    deployer: new Deployer(
      prisma,
      engineFor,
      serviceConfigs,
      state,
      events,
      { bindRoots, hookTimeoutMs: hookTimeoutSeconds * 1000 },
      logger,
      instances,
    ),
  };
}

export type Services = ReturnType<typeof createServices>;
