// Each API process registers itself and heartbeats, so work left by an instance that
// died (its deploy runs, its service locks) can be told apart from a live one's.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { PrismaClient } from '../prisma/db.ts';

const HEARTBEAT_MS = 5_000;
/** an instance silent this long is taken for dead */
export const INSTANCE_TIMEOUT_MS = 30_000;

export class InstanceRegistry {
  readonly id = `${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly prisma: PrismaClient) {}

  async register(onBeat?: () => Promise<void>): Promise<void> {
    await this.prisma.apiInstance.create({ data: { id: this.id, hostname: os.hostname(), pid: process.pid } });
    this.timer = setInterval(() => {
      void this.prisma.apiInstance
        .update({ where: { id: this.id }, data: { heartbeatAt: new Date() } })
        .then(() => onBeat?.())
        .catch(() => undefined);
    }, HEARTBEAT_MS);
    this.timer.unref();
  }

  async unregister(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.prisma.apiInstance.deleteMany({ where: { id: this.id } });
  }

  /** Instances that heartbeated recently, this one included. */
  async liveIds(): Promise<Set<string>> {
    const live = await this.prisma.apiInstance.findMany({
      where: { heartbeatAt: { gte: new Date(Date.now() - INSTANCE_TIMEOUT_MS) } },
      select: { id: true },
    });
    return new Set([this.id, ...live.map((i) => i.id)]);
  }

  /** Forgets instances long dead, so the table does not grow with every restart. */
  async prune(): Promise<void> {
    await this.prisma.apiInstance.deleteMany({ where: { heartbeatAt: { lt: new Date(Date.now() - 24 * 3600_000) } } });
  }
}
