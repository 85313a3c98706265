// Commands run inside a service's running container through the Engine's exec API, as
// argv `sh -c <command>`: the container's shell, never a host shell. The Engine has no
// "kill exec", so every exec carries a marker variable in its environment and is stopped
// by signalling, from inside the container, each process whose environment holds it:
// the command and everything it started. Works on remote engines too (no host PIDs).
import { Writable } from 'node:stream';
import type Dockerode from 'dockerode';
import { hasStatus, toDockerError } from './errors.ts';

export const EXEC_MARKER = 'SPUNTO_EXEC_ID';

export type ExecStream = 'stdout' | 'stderr';

export interface ExecInput {
  containerId: string;
  command: string;
  /** identifies this exec's processes; exported to them as SPUNTO_EXEC_ID */
  marker: string;
  onOutput: (stream: ExecStream, chunk: Buffer) => void;
}

export interface ExecState {
  running: boolean;
  exitCode: number | null;
}

// Signals the processes whose /proc/<pid>/environ (NUL-separated) holds the marker; needs
// sh, tr and grep in the image (busybox grep alone stops at the first NUL).
const KILL_SCRIPT =
  'n=0; for d in /proc/[0-9]*; do ' +
  'if tr "\\0" "\\n" < "$d/environ" 2>/dev/null | grep -qxF "$1"; then kill -s "$2" "${d#/proc/}" 2>/dev/null && n=$((n+1)); fi; ' +
  'done; echo "$n"';

// After the command exits, background processes may still hold the output open.
const DRAIN_MS = 500;

export class ContainerExec {
  private ended = false;
  private readonly endedPromise: Promise<void>;

  private constructor(
    private readonly docker: Dockerode,
    readonly containerId: string,
    readonly id: string,
    readonly marker: string,
    private readonly stream: NodeJS.ReadWriteStream,
  ) {
    this.endedPromise = new Promise<void>((resolve) => {
      const done = () => {
        this.ended = true;
        resolve();
      };
      stream.on('end', done);
      stream.on('close', done);
      stream.on('error', done);
    });
  }

  /** Creates and starts the exec; output flows to `onOutput` until it ends. */
  static async start(docker: Dockerode, input: ExecInput): Promise<ContainerExec> {
    const context = `exec in container ${input.containerId.slice(0, 12)}`;
    try {
      const exec = await docker.getContainer(input.containerId).exec({
        Cmd: ['sh', '-c', input.command],
        Env: [`${EXEC_MARKER}=${input.marker}`],
        AttachStdin: false,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
      });
      const stream = (await exec.start({ hijack: true, stdin: false })) as NodeJS.ReadWriteStream;
      const sink = (which: ExecStream) =>
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            try {
              input.onOutput(which, chunk);
            } finally {
              done();
            }
          },
        });
      docker.modem.demuxStream(stream, sink('stdout'), sink('stderr'));
      return new ContainerExec(docker, input.containerId, exec.id, input.marker, stream);
    } catch (err) {
      throw toDockerError(err, context);
    }
  }

  /** The Engine's view of the exec; an exec (or container) that is gone counts as not running. */
  static async inspect(docker: Dockerode, execId: string): Promise<ExecState> {
    try {
      const info = await docker.getExec(execId).inspect();
      return { running: info.Running, exitCode: info.Running ? null : (info.ExitCode ?? null) };
    } catch (err) {
      if (hasStatus(err, 404, 409)) return { running: false, exitCode: null };
      throw toDockerError(err, `inspect exec ${execId.slice(0, 12)}`);
    }
  }

  /**
   * Sends `signal` to every process of the exec marked `marker` in the container;
   * answers how many there were (0 when the container is not running). Signal 0 only counts.
   */
  static async signal(docker: Dockerode, containerId: string, marker: string, signal: 'TERM' | 'KILL' | '0'): Promise<number> {
    try {
      const exec = await docker.getContainer(containerId).exec({
        Cmd: ['sh', '-c', KILL_SCRIPT, 'spunto-kill', `${EXEC_MARKER}=${marker}`, signal],
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
      });
      const stream = (await exec.start({ hijack: true, stdin: false })) as NodeJS.ReadableStream;
      let out = '';
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          out += chunk.toString('utf8');
          done();
        },
      });
      docker.modem.demuxStream(stream, sink, new Writable({ write: (_c, _e, done) => done() }));
      await new Promise<void>((resolve) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', () => resolve());
      });
      return Number.parseInt(out.trim(), 10) || 0;
    } catch (err) {
      // 404: the container is gone; 409: it is not running. Either way its processes are gone.
      if (hasStatus(err, 404, 409)) return 0;
      throw toDockerError(err, `signal exec in container ${containerId.slice(0, 12)}`);
    }
  }

  /**
   * Stops the exec's processes: TERM, then KILL for whatever is still there after
   * `graceMs`. Resolves once none of its processes is left.
   */
  static async stop(docker: Dockerode, containerId: string, marker: string, graceMs = 5_000): Promise<void> {
    if ((await ContainerExec.signal(docker, containerId, marker, 'TERM')) === 0) return;
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      await sleep(200);
      if ((await ContainerExec.signal(docker, containerId, marker, '0')) === 0) return;
    }
    await ContainerExec.signal(docker, containerId, marker, 'KILL');
  }

  inspect(): Promise<ExecState> {
    return ContainerExec.inspect(this.docker, this.id);
  }

  stop(graceMs?: number): Promise<void> {
    return ContainerExec.stop(this.docker, this.containerId, this.marker, graceMs);
  }

  /**
   * Resolves with the exit code (from exec inspect) once the command has exited and its
   * output is drained. Processes it left running in the background are killed.
   * Resolves null at once when `giveUp` is aborted.
   */
  async waitForExit(giveUp?: AbortSignal): Promise<number | null> {
    const abandoned = new Promise<void>((resolve) => giveUp?.addEventListener('abort', () => resolve(), { once: true }));
    for (;;) {
      await Promise.race([this.endedPromise, sleep(1_000), abandoned]);
      if (giveUp?.aborted) return null;
      const state = await this.inspect();
      if (!state.running) {
        if (!this.ended) await Promise.race([this.endedPromise, sleep(DRAIN_MS)]);
        if (!this.ended) {
          await ContainerExec.signal(this.docker, this.containerId, this.marker, 'KILL');
          await Promise.race([this.endedPromise, sleep(DRAIN_MS)]);
        }
        return state.exitCode;
      }
      // The output ended a moment before the Engine marked the exec as exited.
      if (this.ended) await sleep(50);
    }
  }

  close(): void {
    (this.stream as unknown as { destroy?: () => void }).destroy?.();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
