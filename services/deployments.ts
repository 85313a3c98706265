// Deployments as configuration: a named group of services on one node.
import type { PrismaClient } from '../prisma/db.ts';
import { ConflictError, NotFoundError } from './errors.ts';
import { isUniqueViolation } from './prismaErrors.ts';
import { Issues, checkDnsLabel } from './validation.ts';
import type { NodeService } from './nodes.ts';

export interface CreateDeploymentInput {
  name: string;
  description?: string | null;
  nodeId?: string | null;
}

export interface UpdateDeploymentInput {
  id: string;
  name?: string | null;
  description?: string | null;
}

function checkDescription(issues: Issues, description: string | null | undefined): void {
  if (description != null && description.length > 1000) issues.add('description', 'must be at most 1000 characters');
}

export class DeploymentService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly nodes: NodeService,
  ) {}

  async get(id: string) {
    const deployment = await this.prisma.deployment.findUnique({ where: { id } });
    if (!deployment) throw new NotFoundError('Deployment', id);
    return deployment;
  }

  async create(input: CreateDeploymentInput) {
    const issues = new Issues();
    checkDnsLabel(issues, 'name', input.name);
    checkDescription(issues, input.description);
    issues.throwIfAny();
    const nodeId = input.nodeId ?? (await this.nodes.defaultNode()).id;
    if (input.nodeId && !(await this.prisma.node.findUnique({ where: { id: input.nodeId } }))) {
      throw new NotFoundError('Node', input.nodeId);
    }
    try {
      return await this.prisma.deployment.create({
        data: { name: input.name, description: input.description ?? null, nodeId },
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`a deployment named "${input.name}" already exists`);
      throw error;
    }
  }

  async update(input: UpdateDeploymentInput) {
    const issues = new Issues();
    if (input.name != null) checkDnsLabel(issues, 'name', input.name);
    checkDescription(issues, input.description);
    issues.throwIfAny();
    await this.get(input.id);
    try {
      return await this.prisma.deployment.update({
        where: { id: input.id },
        data: {
          ...(input.name != null && { name: input.name }),
          ...(input.description !== undefined && { description: input.description }),
        },
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`a deployment named "${input.name}" already exists`);
      throw error;
    }
  }
}
