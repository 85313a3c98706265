// graphql-ws on the `ws` server: what graphql-ws/use/ws does (protocol negotiation,
// keep-alive pings, closing on internal errors), plus one thing it can't: a result object
// that several subscriptions deliver is serialised once.
//
// Why. A log batch goes to every subscriber of the container as the same ExecutionResult
// (resolvers/subscriptions/serviceLogs.ts executes it once). graphql-ws stringifies the
// whole `next` message per subscriber, and with 100 subscribers that was most of the
// server's CPU. So `onNext` caches the result's JSON on the result object and hands
// graphql-ws a stand-in payload that serialises to a short token; `send` swaps the token
// for the cached bytes. The message on the wire is exactly what graphql-ws would have sent.
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';

export interface WsExtra {
  readonly socket: WebSocket;
  /** payload JSON waiting for its message, by token; see SharedPayload */
  readonly shared: Map<string, Buffer>;
}

/** Each result's `next` payload JSON, made once whoever delivers it. */
const serialized = new WeakMap<object, Buffer>();
let tokens = 0;

/** graphql-ws serialises this as `"payload":"<token>"`; a real payload is always an object. */
class SharedPayload {
  constructor(readonly token: string) {}
  toJSON(): string {
    return this.token;
  }
}

const PAYLOAD = '"payload":"';
const END = Buffer.from('}');

/** The message with its token payload replaced by the cached JSON, or the message as it is. */
function expand(data: string, shared: Map<string, Buffer>): string | Buffer {
  if (shared.size === 0 || !data.endsWith('"}')) return data;
  const at = data.lastIndexOf(PAYLOAD);
  if (at === -1) return data;
  const token = data.slice(at + PAYLOAD.length, -2);
  const json = shared.get(token);
  if (!json) return data;
  shared.delete(token);
  return Buffer.concat([Buffer.from(data.slice(0, at + PAYLOAD.length - 1)), json, END]);
}

export function serveGraphqlWs<P extends Record<string, unknown>>(
  options: ServerOptions<P, WsExtra>,
  wss: WebSocketServer,
  keepAliveMs = 12_000,
): void {
  const server = makeServer<P, WsExtra>({
    ...options,
    onNext: async (ctx, id, payload, args, result) => {
      const replaced = await options.onNext?.(ctx, id, payload, args, result);
      if (replaced || result.errors) return replaced;
      let json = serialized.get(result);
      if (!json) serialized.set(result, (json = Buffer.from(JSON.stringify(result))));
      const token = `shared:${++tokens}`;
      ctx.extra.shared.set(token, json);
      return new SharedPayload(token) as never;
    },
  });
  wss.options.handleProtocols = handleProtocols;

  // Keep-alive, one timer for all sockets (an idle subscriber costs memory per socket): a
  // peer that hasn't answered the previous ping by the next one is gone.
  const alive = new WeakSet<WebSocket>();
  function answered(this: WebSocket) {
    alive.add(this);
  }
  const pings = setInterval(() => {
    for (const socket of wss.clients) {
      if (!alive.delete(socket)) socket.terminate();
      else socket.ping();
    }
  }, keepAliveMs).unref();
  wss.once('close', () => clearInterval(pings));

  wss.on('connection', (socket) => {
    const internalError = (err: unknown) => {
      console.error('graphql-ws: internal error', err);
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    };
    socket.once('error', internalError);
    alive.add(socket);
    socket.on('pong', answered);

    const shared = new Map<string, Buffer>();
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            const message = expand(data, shared);
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(message, { binary: false }, (err) => (err ? reject(err) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', (data) => {
            handle(String(data)).catch(internalError);
          }),
      },
      { socket, shared },
    );

    socket.once('close', (code, reason) => {
      shared.clear();
      void closed(code, String(reason));
    });
  });
}
