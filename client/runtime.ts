// A small runtime for the generated documents: typed requests over HTTP and
// subscriptions over graphql-ws, both authenticated with an API token.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';

export interface GraphQLErrorShape {
  message: string;
  extensions?: { code?: string; [key: string]: unknown };
}

export interface GraphQLResponse<T> {
  status: number;
  data?: T | null;
  errors?: GraphQLErrorShape[];
}

export class SpuntoRequestError extends Error {
  constructor(readonly response: GraphQLResponse<unknown>) {
    super(response.errors?.map((e) => e.message).join('; ') ?? `HTTP ${response.status}`);
  }
}

export interface SpuntoClientOptions {
  /** e.g. http://127.0.0.1:4000 */
  url: string;
  token?: string;
}

export function createSpuntoClient({ url, token }: SpuntoClientOptions) {
  const endpoint = new URL('/graphql', url).toString();
  const headers = (): Record<string, string> => ({
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  });

  /** The raw response: status, data and errors as the server sent them. */
  async function execute<R, V>(document: TypedDocumentNode<R, V>, variables?: V): Promise<GraphQLResponse<R>> {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify({ query: print(document), variables }),
    });
    const body = (await res.json()) as Omit<GraphQLResponse<R>, 'status'>;
    return { status: res.status, ...body };
  }

  /** The data, or a SpuntoRequestError when the server answered with errors. */
  async function request<R, V>(document: TypedDocumentNode<R, V>, variables?: V): Promise<R> {
    const response = await execute(document, variables);
    if (response.errors?.length || !response.data) throw new SpuntoRequestError(response);
    return response.data;
  }

  let ws: WsClient | undefined;
  function websocket(): WsClient {
    ws ??= createWsClient({
      url: endpoint.replace(/^http/, 'ws'),
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
      lazy: true,
      retryAttempts: 0,
    });
    return ws;
  }

  /** Iterates a subscription's results over graphql-ws. */
  function subscribe<R, V>(document: TypedDocumentNode<R, V>, variables?: V): AsyncIterableIterator<GraphQLResponse<R>> {
    return websocket().iterate({ query: print(document), variables: variables as Record<string, unknown> }) as AsyncIterableIterator<GraphQLResponse<R>>;
  }

  return {
    execute,
    request,
    subscribe,
    async close(): Promise<void> {
      await ws?.dispose();
    },
  };
}

export type SpuntoClient = ReturnType<typeof createSpuntoClient>;
