// Cron schedules of jobs, in UTC, parsed by croner: five fields (minute precision), six
// with a leading seconds field, or a nickname (@hourly, @daily, …).
import { Cron } from 'croner';

const NICKNAMES = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
// Far enough to say "never fires", near enough to stay cheap.
const MAX_CATCH_UP_SLOTS = 10_000;

export class Schedule {
  private constructor(private readonly cron: Cron) {}

  /** The parsed schedule, or the reason it can't be one. */
  static parse(expression: string): Schedule | string {
    const trimmed = expression.trim();
    const fields = trimmed.split(/\s+/);
    if (!NICKNAMES.has(trimmed.toLowerCase()) && fields.length !== 5 && fields.length !== 6) {
      return 'must be a cron expression: 5 fields (minute hour day month weekday), 6 with leading seconds, or @hourly, @daily…';
    }
    let cron: Cron;
    try {
      cron = new Cron(trimmed, { timezone: 'UTC', mode: '5-or-6-parts' });
    } catch (error) {
      return `is not a valid cron expression: ${(error as Error).message.replace(/^CronPattern: /, '')}`;
    }
    if (!cron.nextRun(new Date())) return 'never fires';
    return new Schedule(cron);
  }

  /** The first slot strictly after `after`; null if it never fires again. */
  next(after: Date): Date | null {
    return this.cron.nextRun(after);
  }

  /**
   * The slots from `first` (inclusive) up to `now`, keeping only the last `keep` of them;
   * `total` counts them all. `following` is the first slot after `now`.
   */
  due(first: Date, now: Date, keep: number): { slots: Date[]; total: number; following: Date | null } {
    const slots: Date[] = [];
    let total = 0;
    let slot: Date | null = first;
    while (slot && slot.getTime() <= now.getTime() && total < MAX_CATCH_UP_SLOTS) {
      slots.push(slot);
      if (slots.length > keep) slots.shift();
      total++;
      slot = this.cron.nextRun(slot);
    }
    const following = slot && slot.getTime() > now.getTime() ? slot : this.cron.nextRun(now);
    return { slots, total, following };
  }
}
