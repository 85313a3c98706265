// The graphql-ws adapter (websocket.ts) on a real `ws` server and real clients: messages
// carrying a shared result are exactly what graphql-ws would have sent, and the one
// keep-alive timer terminates peers that stop answering pings.
import type { AddressInfo } from 'node:net';
import { buildSchema, GraphQLError, parse, type ExecutionResult } from 'graphql';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { serveGraphqlWs } from '../websocket.ts';

const schema = buildSchema('type Query { ok: Boolean } type Subscription { tick: [String!]! }');
// Counts its serialisations (non-enumerable, so graphql-ws's own copy of a result would not).
let serialisations = 0;
const shared: ExecutionResult = Object.defineProperty({ data: { tick: ['a "quoted" line', 'é', ''] } }, 'toJSON', {
  value(this: ExecutionResult) {
    serialisations++;
    return { data: this.data };
  },
});
const failed: ExecutionResult = { data: null, errors: [new GraphQLError('no ticks for you')] };

let wss: WebSocketServer | null = null;
afterEach(async () => {
  for (const client of wss?.clients ?? []) client.terminate();
  await new Promise<void>((resolve) => (wss ? wss.close(() => resolve()) : resolve()));
  wss = null;
});

async function start(results: ExecutionResult[], keepAliveMs = 60_000): Promise<string> {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wss!.once('listening', () => resolve()));
  serveGraphqlWs(
    {
      schema,
      onSubscribe: (_ctx, _id, payload) => ({ schema, document: parse(payload.query) }),
      // Every subscription delivers the very same result objects.
      subscribe: async () =>
        (async function* () {
          yield* results;
        })(),
    },
    wss,
    keepAliveMs,
  );
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
}

/** A raw graphql-transport-ws client: the messages exactly as they came off the socket. */
async function connect(url: string, options: WebSocket.ClientOptions = {}) {
  const socket = new WebSocket(url, 'graphql-transport-ws', options);
  const messages: string[] = [];
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.on('message', (data, isBinary) => {
      expect(isBinary).toBe(false);
      const text = String(data);
      if (JSON.parse(text).type === 'connection_ack') resolve();
      else messages.push(text);
    });
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
  });
  return { socket, messages, closed };
}

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('graphql-ws adapter', () => {
  it('sends a shared result to every subscription exactly as graphql-ws would', async () => {
    const url = await start([shared, shared]);
    const clients = await Promise.all([connect(url), connect(url)]);
    for (const [n, { socket }] of clients.entries()) {
      for (const id of [`first-${n}`, `second-${n}`]) socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query: 'subscription { tick }' } }));
    }
    await until(() => clients.every((c) => c.messages.length === 6));
    // Eight messages carried it; it was serialised once.
    expect(serialisations).toBe(1);
    for (const [n, { messages }] of clients.entries()) {
      for (const id of [`first-${n}`, `second-${n}`]) {
        const own = messages.filter((m) => JSON.parse(m).id === id);
        expect(own).toEqual([
          JSON.stringify({ id, type: 'next', payload: shared }),
          JSON.stringify({ id, type: 'next', payload: shared }),
          JSON.stringify({ id, type: 'complete' }),
        ]);
      }
    }
  });

  it('leaves a result with errors to graphql-ws, which formats them', async () => {
    const url = await start([failed]);
    const { socket, messages } = await connect(url);
    socket.send(JSON.stringify({ id: 'x', type: 'subscribe', payload: { query: 'subscription { tick }' } }));
    await until(() => messages.length === 2);
    expect(JSON.parse(messages[0])).toEqual({ id: 'x', type: 'next', payload: { data: null, errors: [{ message: 'no ticks for you' }] } });
  });

  it('keeps a peer that answers pings and terminates one that stops', async () => {
    const url = await start([], 100);
    const answering = await connect(url);
    const silent = await connect(url, { autoPong: false });
    const code = await silent.closed;
    // Terminated, not closed: the peer gets no close frame.
    expect(code).toBe(1006);
    expect(answering.socket.readyState).toBe(WebSocket.OPEN);
    await new Promise((r) => setTimeout(r, 300));
    expect(answering.socket.readyState).toBe(WebSocket.OPEN);
  });
});
