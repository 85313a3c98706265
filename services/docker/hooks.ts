// One-shot containers (pre-deploy hooks): run a command next to a service, with its image,
// env and network, capture the output, and never leave the container behind.
import { StringDecoder } from 'node:string_decoder';
import { Writable } from 'node:stream';
import type Dockerode from 'dockerode';
import { commandArgv, envList } from './containerSpec.ts';
import { hasStatus, toDockerError } from './errors.ts';
import { hookContainerName, LABELS } from './names.ts';

export const HOOK_OUTPUT_LIMIT = 64 * 1024;
// After the exit, the attach stream may still be delivering the last chunks.
const OUTPUT_DRAIN_MS = 2_000;

export type OutputStream = 'stdout' | 'stderr';

export interface HookInput {
  id: string;
  image: string;
  env: { key: string; value: string }[];
  networkName: string;
  command: string;
  timeoutMs: number;
  labels: Record<string, string>;
  onOutput?: (stream: OutputStream, line: string) => void;
}

export interface HookResult {
  /** Null when the hook timed out and was killed. */
  exitCode: number | null;
  /** stdout and stderr interleaved, at most the last 64 KiB. */
  output: string;
  truncated: boolean;
  timedOut: boolean;
}

export async function runHook(docker: Dockerode, input: HookInput): Promise<HookResult> {
  const name = hookContainerName(input.id);
  const context = `hook ${name}`;
  const output = new OutputTail(HOOK_OUTPUT_LIMIT);
  const lines = { stdout: new LineSplitter('stdout', input.onOutput), stderr: new LineSplitter('stderr', input.onOutput) };
  const argv = commandArgv(input.command, 'preDeployCommand');

  // A crash during an earlier run can leave the deterministic name taken.
  await removeQuietly(docker.getContainer(name));
  let container: Dockerode.Container;
  try {
    container = await docker.createContainer({
      name,
      Image: input.image,
      Env: envList(input.env),
      ...argv,
      Tty: false,
      AttachStdout: true,
      AttachStderr: true,
      Labels: { [LABELS.role]: 'hook', ...input.labels, [LABELS.managed]: 'true' },
      HostConfig: { NetworkMode: input.networkName },
    });
  } catch (err) {
    throw toDockerError(err, context, input.image);
  }

  let stream: NodeJS.ReadableStream | undefined;
  try {
    // Attach before start, or the first lines of a fast hook are lost.
    stream = await container.attach({ stream: true, stdout: true, stderr: true, logs: false });
    const ended = new Promise<void>((resolve) => {
      stream!.on('end', resolve);
      stream!.on('close', resolve);
      stream!.on('error', () => resolve());
    });
    const sink = (which: OutputStream) =>
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          output.push(chunk);
          lines[which].push(chunk);
          done();
        },
      });
    docker.modem.demuxStream(stream, sink('stdout'), sink('stderr'));

    try {
      await container.start();
    } catch (err) {
      // 400 = the engine could not exec the command (missing binary…): a failed hook, not an engine fault.
      if (!hasStatus(err, 400)) throw err;
      const state = (await container.inspect()).State;
      const reason = Buffer.from(`${state.Error || toDockerError(err, context).message}\n`);
      output.push(reason);
      lines.stderr.push(reason);
      lines.stderr.flush();
      return { exitCode: state.ExitCode || 127, ...output.result(), timedOut: false };
    }

    const exit = await waitWithTimeout(container, input.timeoutMs);
    await Promise.race([ended, sleep(OUTPUT_DRAIN_MS)]);
    lines.stdout.flush();
    lines.stderr.flush();
    return { exitCode: exit.timedOut ? null : exit.code, ...output.result(), timedOut: exit.timedOut };
  } catch (err) {
    throw toDockerError(err, context);
  } finally {
    stream?.removeAllListeners('data');
    (stream as { destroy?: () => void } | undefined)?.destroy?.();
    await removeQuietly(container);
  }
}

async function waitWithTimeout(container: Dockerode.Container, timeoutMs: number): Promise<{ code: number; timedOut: boolean }> {
  const waiting = container.wait() as Promise<{ StatusCode: number }>;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const first = await Promise.race([waiting, timeout]);
    if (first !== 'timeout') return { code: first.StatusCode, timedOut: false };
    await container.kill().catch((err: unknown) => {
      if (!hasStatus(err, 404, 409)) throw err; // 409: it exited on its own meanwhile
    });
    const after = await waiting;
    return { code: after.StatusCode, timedOut: true };
  } finally {
    clearTimeout(timer);
  }
}

async function removeQuietly(container: Dockerode.Container): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (err) {
    if (!hasStatus(err, 404, 409)) throw toDockerError(err, `remove container ${container.id}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Keeps the last `limit` bytes of everything pushed. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    // Compact only once we hold twice the limit, so pushes stay cheap.
    if (this.size > this.limit * 2) this.compact();
  }

  result(): { output: string; truncated: boolean } {
    this.compact();
    const text = Buffer.concat(this.chunks).toString('utf8');
    if (!this.dropped) return { output: text, truncated: false };
    // Cut at a line start when possible, so the tail doesn't begin mid-line or mid-character.
    const newline = text.indexOf('\n');
    const clean = newline >= 0 && newline < 4096 ? text.slice(newline + 1) : text;
    return { output: `[output truncated: showing the last ${this.limit / 1024} KiB]\n${clean}`, truncated: true };
  }

  private compact(): void {
    if (this.size <= this.limit) return;
    const all = Buffer.concat(this.chunks);
    this.chunks = [all.subarray(all.length - this.limit)];
    this.size = this.limit;
    this.dropped = true;
  }
}

/** Splits a byte stream into lines for a listener, holding back the unfinished last line. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(
    private readonly stream: OutputStream,
    private readonly listener?: (stream: OutputStream, line: string) => void,
  ) {}

  push(chunk: Buffer): void {
    if (!this.listener) return;
    const parts = (this.partial + this.decoder.write(chunk)).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.emit(line);
  }

  flush(): void {
    if (!this.listener) return;
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest) this.emit(rest);
  }

  private emit(line: string): void {
    try {
      this.listener?.(this.stream, line.endsWith('\r') ? line.slice(0, -1) : line);
    } catch {
      // A failing listener must not stop the hook or lose the captured output.
    }
  }
}
