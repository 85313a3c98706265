// Follows one engine's event stream for the containers we own, reconnecting with
// backoff when the engine goes away; after a reconnect the caller resyncs, since
// events that happened while disconnected are not replayed.
import type Dockerode from 'dockerode';
import type { Logger } from '../logger.ts';
import { LABELS } from './names.ts';

export interface ContainerEvent {
  action: string;
  containerId: string;
  attributes: Record<string, string>;
}

export interface WatcherHandlers {
  onEvent(event: ContainerEvent): Promise<void>;
  onReconnect(): Promise<void>;
}

export class DockerEventWatcher {
  private stream: NodeJS.ReadableStream | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;
  /** how many times the stream was (re)established; for tests and health */
  connections = 0;

  constructor(
    private readonly docker: Dockerode,
    private readonly handlers: WatcherHandlers,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    (this.stream as unknown as { destroy?: () => void } | null)?.destroy?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let backoff = 500;
    while (!this.stopped) {
      try {
        const stream = (await this.docker.getEvents({
          filters: {
            type: ['container'],
            label: [`${LABELS.managed}=true`],
            event: ['start', 'die', 'oom', 'health_status'],
          },
        })) as NodeJS.ReadableStream;
        this.stream = stream;
        this.connections += 1;
        backoff = 500;
        if (this.connections > 1) await this.handlers.onReconnect().catch((err) => this.logger.warn({ err }, 'resync after reconnect failed'));
        await this.consume(stream);
      } catch (err) {
        if (!this.stopped) this.logger.warn({ err }, 'Docker event stream failed');
      }
      this.stream = null;
      if (this.stopped) break;
      await new Promise((resolve) => setTimeout(resolve, backoff));
      backoff = Math.min(backoff * 2, 10_000);
    }
  }

  private consume(stream: NodeJS.ReadableStream): Promise<void> {
    return new Promise((resolve) => {
      let buffer = '';
      // Handle events one at a time, in order.
      let chain = Promise.resolve();
      stream.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (!line) continue;
          let raw: { Action?: string; status?: string; id?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } };
          try {
            raw = JSON.parse(line);
          } catch {
            continue;
          }
          const event: ContainerEvent = {
            action: raw.Action ?? raw.status ?? '',
            containerId: raw.Actor?.ID ?? raw.id ?? '',
            attributes: raw.Actor?.Attributes ?? {},
          };
          chain = chain.then(() => this.handlers.onEvent(event)).catch((err) => this.logger.warn({ err, event }, 'container event handling failed'));
        }
      });
      const done = () => void chain.then(() => resolve());
      stream.on('end', done);
      stream.on('close', done);
      stream.on('error', done);
    });
  }
}
