// A FIFO of log events kept as the arrays it was given (the follower's per-chunk batches
// are shared by every subscriber, so pushing one costs a reference, not a copy), with
// cheap dropping from the front when a subscriber falls behind.
import type { LogEvent } from './types.ts';

export class EventQueue {
  private chunks: (readonly LogEvent[] | undefined)[] = [];
  private first = 0;
  private offset = 0;
  size = 0;

  push(events: readonly LogEvent[]): void {
    if (events.length === 0) return;
    this.chunks.push(events);
    this.size += events.length;
  }

  /**
   * Discards the oldest events, whole chunks at a time, until at least `count` are gone;
   * returns how many were. What is left is still the very arrays that were pushed, so a
   * subscriber that fell behind keeps delivering batches shared with the others.
   */
  dropChunks(count: number): number {
    let dropped = 0;
    while (dropped < count && this.size > 0) {
      const rest = this.chunks[this.first]!.length - this.offset;
      this.size -= rest;
      dropped += rest;
      this.advance();
    }
    return dropped;
  }

  /** Discards the `count` oldest events. */
  drop(count: number): void {
    let left = Math.min(count, this.size);
    while (left > 0) {
      const chunk = this.chunks[this.first]!;
      const take = Math.min(chunk.length - this.offset, left);
      this.offset += take;
      this.size -= take;
      left -= take;
      if (this.offset === chunk.length) this.advance();
    }
  }

  /**
   * Up to `max` oldest events, removed from the queue, appended to `out` (or a new array).
   * A chunk still whole at the front is returned alone, as the very array it was pushed
   * as: subscribers of one follower then deliver identical batches, which the GraphQL
   * layer executes once for all of them (resolvers/subscriptions/serviceLogs.ts).
   */
  take(max: number, out?: LogEvent[]): LogEvent[] {
    if (!out && this.offset === 0 && this.size > 0) {
      const chunk = this.chunks[this.first]!;
      if (chunk.length <= max) {
        this.size -= chunk.length;
        this.advance();
        return chunk as LogEvent[];
      }
    }
    const result = out ?? [];
    let room = max - result.length;
    while (room > 0 && this.size > 0) {
      const chunk = this.chunks[this.first]!;
      const end = Math.min(chunk.length, this.offset + room);
      for (let i = this.offset; i < end; i++) result.push(chunk[i]);
      const taken = end - this.offset;
      this.offset = end;
      this.size -= taken;
      room -= taken;
      if (this.offset === chunk.length) this.advance();
    }
    return result;
  }

  clear(): void {
    this.chunks = [];
    this.first = 0;
    this.offset = 0;
    this.size = 0;
  }

  private advance(): void {
    this.chunks[this.first] = undefined;
    this.first++;
    this.offset = 0;
    if (this.first === this.chunks.length) {
      this.chunks = [];
      this.first = 0;
    } else if (this.first >= 64 && this.first * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }
}
