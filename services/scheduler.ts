// Fires scheduled jobs. Every API instance ticks once a second; a slot is claimed by
// recording its JobRun (unique per job and slot), so it runs once however many instances
// tick. Slots that passed while no scheduler was running are recorded as MISSED: only
// the latest due slot may still run, and only if it is not late by more than its grace.
import type { PrismaClient } from '../prisma/db.ts';
import type { JobService } from './jobs.ts';
import { Schedule } from './jobsSchedule.ts';
import type { Logger } from './logger.ts';

const TICK_MS = 1_000;
const REAP_EVERY_TICKS = 5;
// Missed slots recorded one by one per catch-up; older ones are counted in a message.
const MAX_MISSED_RECORDS = 100;

/** How late a slot may start: its interval, between 5 s and 1 min. */
export function graceFor(slot: Date, following: Date | null): number {
  const interval = following ? following.getTime() - slot.getTime() : 60_000;
  return Math.min(60_000, Math.max(5_000, interval));
}

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | null = null;
  private ticks = 0;
  private stopped = true;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly jobs: JobService,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
  }

  // Just after each second boundary, where seconds-field slots fall.
  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick()
        .catch((error) => this.logger.error({ err: error }, 'scheduler tick failed'))
        .finally(() => {
          this.ticking = null;
          this.schedule();
        });
    }, TICK_MS - (Date.now() % TICK_MS) + 20);
    this.timer.unref();
  }

  /** One pass: fire (or record as missed) every due slot; now and then reap orphaned runs. */
  async tick(now = new Date()): Promise<void> {
    const due = await this.prisma.job.findMany({
      where: { schedule: { not: null }, nextRunAt: { lte: now } },
      include: { service: { include: { deployment: { select: { node: { select: { endpoint: true } } } } } } },
    });
    for (const job of due) {
      if (this.stopped) return;
      await this.fire(job, now).catch((error) => this.logger.error({ err: error, jobId: job.id }, 'could not fire a scheduled job'));
    }
    if (++this.ticks % REAP_EVERY_TICKS === 0) {
      await this.jobs.runner.reap((run) => this.jobs.placeOf(run));
    }
  }

  private async fire(job: Awaited<ReturnType<JobService['get']>>, now: Date): Promise<void> {
    const schedule = Schedule.parse(job.schedule!);
    const first = job.nextRunAt!;
    if (typeof schedule === 'string') {
      await this.prisma.job.updateMany({ where: { id: job.id, nextRunAt: first }, data: { nextRunAt: null } });
      return;
    }
    const { slots, total, following } = schedule.due(first, now, MAX_MISSED_RECORDS + 1);
    const last = slots.pop()!;
    const older = total - 1 - slots.length;
    const tooLate = (slot: Date) => now.getTime() - slot.getTime() > graceFor(slot, schedule.next(slot));
    for (const [i, slot] of slots.entries()) {
      const note = i === 0 && older > 0 ? ` (and ${older} earlier slots)` : '';
      await this.jobs.recordMissed(
        job,
        slot,
        tooLate(slot)
          ? `missed: no scheduler was running at ${slot.toISOString()}${note}`
          : `missed: superseded by the slot at ${last.toISOString()}, already due when the scheduler got to it`,
      );
    }
    if (tooLate(last)) {
      await this.jobs.recordMissed(job, last, `missed: no scheduler was running at ${last.toISOString()}`);
    } else {
      await this.jobs.runScheduled(job, last);
    }
    // Compare-and-set: another instance may have moved on already.
    await this.prisma.job.updateMany({ where: { id: job.id, nextRunAt: first }, data: { nextRunAt: following } });
  }
}
