// The frame and line parser on buffers cut at every possible place: what the socket does
// to Docker's log stream. Pure: no engine involved.
import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameError } from '../services/logs/frames.ts';
import { dockerSince, lineEvent, LogParser, normalizeStamp, stampOf } from '../services/logs/parse.ts';
import { EventQueue } from '../services/logs/queue.ts';

function frame(stream: number, payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** Every way of cutting `bytes` in two, plus a cut after every byte. */
function splits(bytes: Buffer): Buffer[][] {
  const out: Buffer[][] = [[bytes]];
  for (let at = 1; at < bytes.length; at++) out.push([bytes.subarray(0, at), bytes.subarray(at)]);
  out.push([...bytes].map((b) => Buffer.from([b])));
  return out;
}

function decode(chunks: Buffer[]) {
  const decoder = new FrameDecoder();
  const frames: { stream: number; payload: string }[] = [];
  for (const chunk of chunks) decoder.push(chunk, (stream, payload) => frames.push({ stream, payload: payload.toString('utf8') }));
  return { frames, idle: decoder.idle };
}

function parse(tty: boolean, chunks: Buffer[]) {
  const parser = new LogParser('c0ffee', tty);
  const lines = chunks.flatMap((chunk) => parser.push(chunk));
  lines.push(...parser.end());
  return lines.map((l) => [l.stream, l.timestampNanos, l.text]);
}

const T1 = '2026-01-02T03:04:05.123456789Z';
const T2 = '2026-01-02T03:04:05.223456789Z';
const T3 = '2026-01-02T03:04:06.000000001Z';

describe('FrameDecoder', () => {
  const frames = [
    { stream: 1, payload: `${T1} out 1\n` },
    { stream: 2, payload: `${T2} err 1\n` },
    { stream: 1, payload: '' },
    { stream: 2, payload: `${T3} ${'x'.repeat(300)}\n` },
  ];
  const bytes = Buffer.concat(frames.map((f) => frame(f.stream, f.payload)));

  it('reassembles frames whose header or payload is split across chunks, at every offset', () => {
    for (const chunks of splits(bytes)) {
      expect(decode(chunks)).toEqual({ frames, idle: true });
    }
  });

  it('keeps an unfinished frame until the rest arrives', () => {
    const { frames: got, idle } = decode([bytes.subarray(0, bytes.length - 5)]);
    expect(got).toEqual(frames.slice(0, 3));
    expect(idle).toBe(false);
  });

  it('refuses a stream that is not multiplexed', () => {
    const decoder = new FrameDecoder();
    expect(() => decoder.push(Buffer.from(`${T1} hello from a TTY\n`), () => undefined)).toThrow(FrameError);
  });
});

describe('LogParser', () => {
  it('splits stdout and stderr lines with their timestamps, whatever the chunking', () => {
    const bytes = Buffer.concat([
      frame(1, `${T1} out 1\n`),
      frame(2, `${T2} err 1\r\n`),
      frame(1, `${T3} \n`),
      frame(1, `${T3} héllo → wörld ✓\n`),
    ]);
    const expected = [
      ['STDOUT', T1, 'out 1'],
      ['STDERR', T2, 'err 1'],
      ['STDOUT', T3, ''],
      ['STDOUT', T3, 'héllo → wörld ✓'],
    ];
    for (const chunks of splits(bytes)) expect(parse(false, chunks)).toEqual(expected);
  });

  it("joins Docker's partial messages (long lines) and keeps the first part's timestamp", () => {
    // Docker cuts lines over 16 KiB into messages without "\n"; a cut can fall inside a UTF-8 character.
    const text = 'é'.repeat(20);
    const raw = Buffer.from(text, 'utf8');
    const bytes = Buffer.concat([
      frame(1, Buffer.concat([Buffer.from(`${T1} `), raw.subarray(0, 7)])),
      frame(2, `${T2} interleaved\n`),
      frame(1, Buffer.concat([Buffer.from(`${T2} `), raw.subarray(7), Buffer.from('\n')])),
    ]);
    for (const chunks of splits(bytes)) {
      expect(parse(false, chunks)).toEqual([
        ['STDERR', T2, 'interleaved'],
        ['STDOUT', T1, text],
      ]);
    }
  });

  it('reads a TTY stream raw: lines cut anywhere, "\\r\\n" endings, all STDOUT', () => {
    const bytes = Buffer.from(`${T1} out 1\r\n${T2} err 1\r\n${T3} ünïcode\r\n${T3} no newline at the end`, 'utf8');
    const expected = [
      ['STDOUT', T1, 'out 1'],
      ['STDOUT', T2, 'err 1'],
      ['STDOUT', T3, 'ünïcode'],
      ['STDOUT', T3, 'no newline at the end'],
    ];
    for (const chunks of splits(bytes)) expect(parse(true, chunks)).toEqual(expected);
  });

  it('normalizes timestamps to a sortable UTC form and back to Docker\'s "since"', () => {
    expect(normalizeStamp(T1)).toEqual({ ts: T1, ms: Date.parse('2026-01-02T03:04:05.123Z') });
    expect(normalizeStamp('2026-01-02T05:04:05.5+02:00')?.ts).toBe('2026-01-02T03:04:05.500000000Z');
    expect(normalizeStamp('2026-01-02T03:04:05Z')?.ts).toBe('2026-01-02T03:04:05.000000000Z');
    expect(normalizeStamp('not a time')).toBeNull();
    expect(stampOf(new Date('2026-01-02T03:04:05.120Z'))).toBe('2026-01-02T03:04:05.120000000Z');
    expect(dockerSince(T1)).toBe(`${Date.parse('2026-01-02T03:04:05Z') / 1000}.123456789`);
  });
});

describe('EventQueue', () => {
  const batchOf = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => lineEvent('c', 'STDOUT', normalizeStamp(T1)!, `line ${from + i}`));

  it('hands a whole batch on as the very array it was given, and drops whole batches', () => {
    const queue = new EventQueue();
    const [a, b, c] = [batchOf(0, 3), batchOf(3, 4), batchOf(7, 2)];
    for (const batch of [a, b, c]) queue.push(batch);
    // At least 2 must go: all of the first batch does, so what is left is still b and c as given.
    expect(queue.dropChunks(2)).toBe(3);
    expect(queue.size).toBe(6);
    expect(queue.take(10)).toBe(b);
    expect(queue.take(10)).toBe(c);
    expect(queue.size).toBe(0);
  });

  it('counts only what is left of a partly taken batch when dropping it', () => {
    const queue = new EventQueue();
    const [a, b] = [batchOf(0, 5), batchOf(5, 5)];
    queue.push(a);
    queue.push(b);
    expect(queue.take(2).map((e) => e.text)).toEqual(['line 0', 'line 1']);
    expect(queue.dropChunks(1)).toBe(3);
    expect(queue.take(10)).toBe(b);
  });
});
