// From Docker's bytes to LogEvent lines. Logs are requested with `timestamps: true`, so
// every message starts with an RFC3339Nano timestamp and a space.
//
// - No TTY: the stream is multiplexed (see frames.ts) and Docker writes one message per
//   frame. A message ends with "\n" unless Docker split a long line (over 16 KiB) into
//   partial messages; those are joined again, keeping the first part's timestamp.
// - TTY: the stream is raw bytes, everything is STDOUT, lines end with "\r\n" and may be
//   cut anywhere by the socket, so bytes are buffered up to the next "\n".
import { FrameDecoder, type FrameStream } from './frames.ts';
import type { LogEvent, LogStream } from './types.ts';

/** A line longer than this is delivered in pieces rather than buffered further. */
export const MAX_LINE_BYTES = 1024 * 1024;

const STAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

export interface Stamp {
  /** RFC 3339, UTC, nine fractional digits */
  ts: string;
  ms: number;
}

/** Any RFC 3339 timestamp (Docker's, with up to nine fractional digits) in the fixed, sortable form. */
export function normalizeStamp(raw: string): Stamp | null {
  // Docker's own format (RFC3339NanoFixed, UTC) is already the fixed form.
  if (raw.length === 30 && raw.charCodeAt(29) === 90 /* Z */ && raw.charCodeAt(19) === 46 /* . */) {
    const ms = Date.parse(raw);
    if (!Number.isNaN(ms)) return { ts: raw, ms };
  }
  const match = STAMP.exec(raw);
  if (!match) return null;
  const seconds = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(seconds)) return null;
  const fraction = (match[2] ?? '').padEnd(9, '0');
  return {
    ts: `${new Date(seconds).toISOString().slice(0, 19)}.${fraction}Z`,
    ms: seconds + Number(fraction.slice(0, 3)),
  };
}

/** A Date in the fixed form (nanoseconds are zero). */
export function stampOf(date: Date): string {
  return `${date.toISOString().slice(0, 23)}000000Z`;
}

/** Docker's `since` query value ("seconds.nanoseconds") for a fixed-form timestamp. */
export function dockerSince(ts: string): string {
  const seconds = Math.floor(Date.parse(`${ts.slice(0, 19)}Z`) / 1000);
  return `${seconds}.${ts.slice(20, 29)}`;
}

export function lineEvent(containerId: string, stream: LogStream, stamp: Stamp, text: string): LogEvent {
  return { kind: 'LINE', stream, timestamp: new Date(stamp.ms), timestampNanos: stamp.ts, text, containerId, dropped: null };
}

interface Partial {
  stamp: Stamp;
  parts: Buffer[];
  length: number;
}

function now(): Stamp {
  const date = new Date();
  return { ts: stampOf(date), ms: date.getTime() };
}

/** The timestamp in front of a message and where the text starts; the current time if there is none. */
function splitStamp(message: Buffer): { stamp: Stamp; start: number } {
  const space = message.indexOf(32);
  if (space >= 20 && space <= 40) {
    const stamp = normalizeStamp(message.toString('latin1', 0, space));
    if (stamp) return { stamp, start: space + 1 };
  }
  return { stamp: now(), start: 0 };
}

/** Turns one container's log bytes into line events; one parser per stream or response. */
export class LogParser {
  private readonly frames: FrameDecoder | null;
  private readonly partial: { STDOUT: Partial | null; STDERR: Partial | null } = { STDOUT: null, STDERR: null };
  // TTY: the bytes of a line not yet ended, timestamp included
  private rawParts: Buffer[] = [];
  private rawLength = 0;

  constructor(
    readonly containerId: string,
    readonly tty: boolean,
  ) {
    this.frames = tty ? null : new FrameDecoder();
  }

  /** The complete lines in this chunk (and earlier ones); throws FrameError on a corrupt stream. */
  push(chunk: Buffer): LogEvent[] {
    const out: LogEvent[] = [];
    if (this.frames) {
      this.frames.push(chunk, (stream: FrameStream, payload: Buffer) => {
        this.message(stream === 2 ? 'STDERR' : 'STDOUT', payload, out);
      });
    } else {
      this.raw(chunk, out);
    }
    return out;
  }

  /** Whatever is left when the stream ends: unfinished lines are delivered as they are. */
  end(): LogEvent[] {
    const out: LogEvent[] = [];
    for (const stream of ['STDOUT', 'STDERR'] as const) {
      const partial = this.partial[stream];
      this.partial[stream] = null;
      if (partial) out.push(lineEvent(this.containerId, stream, partial.stamp, decode(Buffer.concat(partial.parts), true)));
    }
    if (this.rawLength > 0) this.rawLine(Buffer.concat(this.rawParts), true, out);
    return out;
  }

  /** One multiplexed frame: "<timestamp> <text>", ending in "\n" unless Docker split a long line. */
  private message(stream: LogStream, payload: Buffer, out: LogEvent[]): void {
    const { stamp, start: text } = splitStamp(payload);
    let start = text;
    for (;;) {
      const newline = payload.indexOf(10, start);
      const pending = this.partial[stream];
      if (newline === -1) {
        if (start === payload.length) return;
        const piece = payload.subarray(start);
        if (!pending) this.partial[stream] = { stamp, parts: [piece], length: piece.length };
        else {
          pending.parts.push(piece);
          pending.length += piece.length;
        }
        const current = this.partial[stream]!;
        if (current.length >= MAX_LINE_BYTES) {
          this.partial[stream] = null;
          out.push(lineEvent(this.containerId, stream, current.stamp, decode(Buffer.concat(current.parts), false)));
        }
        return;
      }
      let line = payload.subarray(start, newline);
      let lineStamp = stamp;
      if (pending) {
        pending.parts.push(line);
        line = Buffer.concat(pending.parts);
        lineStamp = pending.stamp;
        this.partial[stream] = null;
      }
      out.push(lineEvent(this.containerId, stream, lineStamp, decode(line, true)));
      start = newline + 1;
    }
  }

  /** TTY bytes: lines end at "\n" wherever the socket cut the chunks. */
  private raw(chunk: Buffer, out: LogEvent[]): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(10, start);
      if (newline === -1) {
        if (start < chunk.length) {
          this.rawParts.push(chunk.subarray(start));
          this.rawLength += chunk.length - start;
          if (this.rawLength >= MAX_LINE_BYTES) this.rawLine(Buffer.concat(this.rawParts), false, out);
        }
        return;
      }
      let line = chunk.subarray(start, newline);
      if (this.rawLength > 0) {
        this.rawParts.push(line);
        line = Buffer.concat(this.rawParts);
      }
      this.rawLine(line, true, out);
      start = newline + 1;
    }
  }

  private rawLine(line: Buffer, ended: boolean, out: LogEvent[]): void {
    this.rawParts = [];
    this.rawLength = 0;
    const { stamp, start } = splitStamp(line);
    out.push(lineEvent(this.containerId, 'STDOUT', stamp, decode(line.subarray(start), ended)));
  }
}

/** UTF-8 text of a line, without the "\r" of a "\r\n" ending. */
function decode(line: Buffer, ended: boolean): string {
  const end = ended && line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length;
  return line.toString('utf8', 0, end);
}
