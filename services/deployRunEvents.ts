// Reads a deploy run's events for a subscriber: what already happened first, then
// live events, in `seq` order with no gap and no duplicate. The database is the source
// of truth; the event bus only wakes the reader, so a missed or late wake-up (another
// instance, Redis reconnecting) costs at most one poll interval, never an event.
import type { PrismaClient } from '../prisma/db.ts';
import { NotFoundError } from './errors.ts';
import type { DeployRunEvent, EventBus } from './events.ts';

const POLL_MS = 1000;
const BATCH = 500;

/** Checks the run exists (a typed NotFoundError otherwise), then streams its events. */
export async function deployRunEvents(
  prisma: PrismaClient,
  events: EventBus,
  deployRunId: string,
): Promise<AsyncGenerator<DeployRunEvent>> {
  const run = await prisma.deployRun.findUnique({ where: { id: deployRunId }, select: { id: true } });
  if (!run) throw new NotFoundError('DeployRun', deployRunId);
  return readEvents(prisma, events, deployRunId);
}

async function* readEvents(prisma: PrismaClient, events: EventBus, deployRunId: string): AsyncGenerator<DeployRunEvent> {
  const signal: { wake: (() => void) | null; pending: boolean } = { wake: null, pending: false };
  const live = events.subscribe('deployRun:event', deployRunId);
  const listening = (async () => {
    for await (const _ of live) {
      signal.pending = true;
      signal.wake?.();
    }
  })();

  let last = 0;
  try {
    for (;;) {
      signal.pending = false;
      const rows = await prisma.deployRunEvent.findMany({
        where: { deployRunId, seq: { gt: last } },
        orderBy: { seq: 'asc' },
        take: BATCH,
      });
      for (const row of rows) {
        last = row.seq;
        const payload = row.payload as unknown as Omit<DeployRunEvent, 'deployRunId' | 'seq' | 'at'> & { at: string };
        yield { ...payload, deployRunId, seq: row.seq, at: new Date(payload.at) };
        if (payload.type === 'FINISHED') return;
      }
      if (rows.length === BATCH || signal.pending) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        signal.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      signal.wake = null;
    }
  } finally {
    await live.return?.();
    await listening.catch(() => undefined);
  }
}
