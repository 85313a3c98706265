// Docker engines the platform drives. The default node comes from DOCKER_HOST.
import type { PrismaClient } from '../prisma/db.ts';

export class NodeService {
  constructor(private readonly prisma: PrismaClient) {}

  /** Creates or updates the node named "local" from DOCKER_HOST and marks it default. */
  async ensureDefaultNode(endpoint: string) {
    const existing = await this.prisma.node.findFirst({ where: { isDefault: true } });
    if (existing) {
      if (existing.endpoint === endpoint) return existing;
      return this.prisma.node.update({ where: { id: existing.id }, data: { endpoint } });
    }
    return this.prisma.node.upsert({
      where: { name: 'local' },
      create: { name: 'local', endpoint, isDefault: true },
      update: { endpoint, isDefault: true },
    });
  }

  async defaultNode() {
    const node = await this.prisma.node.findFirst({ where: { isDefault: true } });
    if (!node) throw new Error('no default node: ensureDefaultNode was not called');
    return node;
  }
}
