// Docker's multiplexed log stream (containers without a TTY): every frame is an 8-byte
// header — [stream, 0, 0, 0, size as uint32 big-endian] — followed by `size` bytes of
// payload. Chunks from the socket cut frames anywhere, headers included, so the decoder
// keeps what it has of the current frame until the rest arrives.

/** 0 stdin, 1 stdout, 2 stderr, as in the frame header. */
export type FrameStream = 0 | 1 | 2;

/** Docker writes one log message (at most 16 KiB of text plus its timestamp) per frame. */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024;

export class FrameError extends Error {}

export class FrameDecoder {
  private readonly header = Buffer.alloc(8);
  private headerFill = 0;
  private stream: FrameStream = 1;
  private payload: Buffer | null = null;
  private payloadFill = 0;

  /** Feeds one chunk; `onFrame` is called once per complete frame, in order. */
  push(chunk: Buffer, onFrame: (stream: FrameStream, payload: Buffer) => void): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.payload === null) {
        // Fast path: a whole header in this chunk, nothing buffered.
        if (this.headerFill === 0 && chunk.length - at >= 8) {
          const size = this.start(chunk[at], chunk.readUInt32BE(at + 4));
          at += 8;
          if (size === 0) {
            this.payload = null;
            onFrame(this.stream, Buffer.alloc(0));
            continue;
          }
          // Fast path: the whole payload too; hand out a view, no copy.
          if (chunk.length - at >= size) {
            this.payload = null;
            onFrame(this.stream, chunk.subarray(at, at + size));
            at += size;
            continue;
          }
          this.payload = Buffer.allocUnsafe(size);
          this.payloadFill = 0;
          continue;
        }
        const take = Math.min(8 - this.headerFill, chunk.length - at);
        chunk.copy(this.header, this.headerFill, at, at + take);
        this.headerFill += take;
        at += take;
        if (this.headerFill < 8) return;
        this.headerFill = 0;
        const size = this.start(this.header[0], this.header.readUInt32BE(4));
        if (size === 0) {
          onFrame(this.stream, Buffer.alloc(0));
          continue;
        }
        this.payload = Buffer.allocUnsafe(size);
        this.payloadFill = 0;
        continue;
      }
      const take = Math.min(this.payload.length - this.payloadFill, chunk.length - at);
      chunk.copy(this.payload, this.payloadFill, at, at + take);
      this.payloadFill += take;
      at += take;
      if (this.payloadFill === this.payload.length) {
        const done = this.payload;
        this.payload = null;
        onFrame(this.stream, done);
      }
    }
  }

  /** True when the bytes seen so far end exactly at a frame boundary. */
  get idle(): boolean {
    return this.headerFill === 0 && this.payload === null;
  }

  private start(stream: number, size: number): number {
    if (stream > 2) throw new FrameError(`not a multiplexed log stream: frame type ${stream}`);
    if (size > MAX_FRAME_BYTES) throw new FrameError(`log frame of ${size} bytes exceeds ${MAX_FRAME_BYTES}`);
    this.stream = stream as FrameStream;
    return size;
  }
}
