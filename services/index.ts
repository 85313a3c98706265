// The domain services, wired once by the composition root.
import type { PrismaClient } from '../prisma/db.ts';
import { AuthService } from './auth.ts';
import { DeploymentService } from './deployments.ts';
import { NodeService } from './nodes.ts';
import type { SecretBox } from './secrets.ts';
import { ServiceConfigService } from './serviceConfigs.ts';

export interface ServiceDeps {
  prisma: PrismaClient;
  secrets: SecretBox;
  bindRoots: string[];
}

export function createServices({ prisma, secrets, bindRoots }: ServiceDeps) {
  const nodes = new NodeService(prisma);
  return {
    auth: new AuthService(prisma),
    nodes,
    deployments: new DeploymentService(prisma, nodes),
    serviceConfigs: new ServiceConfigService(prisma, secrets, bindRoots),
  };
}

export type Services = ReturnType<typeof createServices>;
