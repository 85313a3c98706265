// Real subscription clients: graphql-ws over WebSocket and graphql-sse over HTTP.
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';

export interface Collected<T> {
  results: { data?: T; errors?: { message: string; extensions?: { code?: string } }[] }[];
  /** resolves once a result satisfies the predicate (or rejects after ms) */
  until(predicate: (results: Collected<T>['results']) => boolean, ms?: number): Promise<void>;
  done: Promise<void>;
  close(): Promise<void>;
}

function collector<T>(start: (sink: {
  next: (r: never) => void;
  error: (e: unknown) => void;
  complete: () => void;
}) => () => void | Promise<void>): Collected<T> {
  const results: Collected<T>['results'] = [];
  const waiters = new Set<() => void>();
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const notify = () => waiters.forEach((w) => w());
  const stop = start({
    next: (r) => {
      results.push(r);
      notify();
    },
    error: (e) => {
      results.push({ errors: [{ message: String((e as Error)?.message ?? JSON.stringify(e)), extensions: { code: extractCode(e) } }] });
      notify();
      finish();
    },
    complete: () => {
      notify();
      finish();
    },
  });
  return {
    results,
    done,
    until(predicate, ms = 60_000) {
      if (predicate(results)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`subscription did not reach the expected state; got ${JSON.stringify(results).slice(0, 2000)}`));
        }, ms);
        const check = () => {
          if (predicate(results)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
      });
    },
    async close() {
      await stop();
    },
  };
}

function extractCode(e: unknown): string | undefined {
  if (Array.isArray(e)) return (e[0] as { extensions?: { code?: string } })?.extensions?.code;
  return (e as { extensions?: { code?: string } })?.extensions?.code;
}

export function wsSubscribe<T>(baseUrl: string, token: string, query: string, variables?: Record<string, unknown>): Collected<T> {
  const client = createWsClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  return collector<T>((sink) => {
    const unsubscribe = client.subscribe({ query, variables }, sink as never);
    return async () => {
      unsubscribe();
      await client.dispose();
    };
  });
}

export function sseSubscribe<T>(baseUrl: string, token: string, query: string, variables?: Record<string, unknown>): Collected<T> {
  const client = createSseClient({
    url: `${baseUrl}/graphql`,
    headers: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  return collector<T>((sink) => {
    const unsubscribe = client.subscribe({ query, variables }, sink as never);
    return () => {
      unsubscribe();
      client.dispose();
    };
  });
}
