// No operation answers without a valid token. The root fields are enumerated from the
// schema itself, so a field added later is covered without touching this file.
import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
} from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateApiTokenDocument, RevokeApiTokenDocument, ViewerDocument } from '../client/generated/graphql.ts';
import { schema } from '../schema/index.ts';
import { startTestApp, type TestApp } from './support/app.ts';

function sampleValue(type: GraphQLInputType): string {
  if (isNonNullType(type)) return sampleValue(type.ofType);
  if (isListType(type)) return '[]';
  if (isEnumType(type)) return type.getValues()[0].name;
  if (isInputObjectType(type)) {
    const required = Object.values(type.getFields()).filter((f) => isNonNullType(f.type) && f.defaultValue === undefined);
    return `{${required.map((f) => `${f.name}: ${sampleValue(f.type)}`).join(', ')}}`;
  }
  if (isScalarType(type)) {
    if (type.name === 'Int' || type.name === 'Float') return '1';
    if (type.name === 'Boolean') return 'false';
    if (type.name === 'DateTime') return '"2026-01-01T00:00:00Z"';
    return '"x"';
  }
  throw new Error(`no sample for ${String(type)}`);
}

function operationFor(kind: 'query' | 'mutation' | 'subscription', field: GraphQLField<unknown, unknown>): string {
  const args = field.args
    .filter((a: GraphQLArgument) => isNonNullType(a.type))
    .map((a) => `${a.name}: ${sampleValue(a.type)}`);
  const named = getNamedType(getNullableType(field.type));
  const selection = isScalarType(named) || isEnumType(named) ? '' : ' { __typename }';
  return `${kind} { ${field.name}${args.length ? `(${args.join(', ')})` : ''}${selection} }`;
}

const rootOperations = (['query', 'mutation', 'subscription'] as const).flatMap((kind) => {
  const root = kind === 'query' ? schema.getQueryType() : kind === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  return Object.values(root?.getFields() ?? {}).map((field) => ({ kind, name: field.name, query: operationFor(kind, field) }));
});

async function post(url: string, query: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] } };
}

describe('authentication', () => {
  let t: TestApp;
  let revokedToken: string;
  let readToken: string;

  beforeAll(async () => {
    t = await startTestApp();
    const created = await t.client.request(CreateApiTokenDocument, { input: { name: 'old', scopes: ['ADMIN'] } });
    if (created.createApiToken.__typename !== 'MutationCreateApiTokenSuccess') throw new Error('token');
    revokedToken = created.createApiToken.data.token;
    await t.client.request(RevokeApiTokenDocument, { id: created.createApiToken.data.apiToken.id });
    const reader = await t.client.request(CreateApiTokenDocument, { input: { name: 'reader', scopes: ['READ'] } });
    if (reader.createApiToken.__typename !== 'MutationCreateApiTokenSuccess') throw new Error('token');
    readToken = reader.createApiToken.data.token;
  });
  afterAll(() => t?.stop());

  it('enumerates the root fields of the schema', () => {
    expect(rootOperations.length).toBeGreaterThanOrEqual(14);
    expect(rootOperations.map((o) => o.name)).toEqual(expect.arrayContaining(['viewer', 'createService', 'deployments']));
  });

  it.each(rootOperations.filter((o) => o.kind !== 'subscription'))('$kind $name answers 401 without a token', async ({ query }) => {
    const { status, body } = await post(t.url, query);
    expect(status).toBe(401);
    expect(body.data ?? null).toBeNull();
    expect(body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it.each(rootOperations.filter((o) => o.kind !== 'subscription'))('$kind $name answers 401 for a revoked or unknown token', async ({ query }) => {
    for (const token of [revokedToken, 'spt_not_a_real_token_at_all_0000000000']) {
      const { status, body } = await post(t.url, query, { authorization: `Bearer ${token}` });
      expect(status).toBe(401);
      expect(body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  it.each(rootOperations.filter((o) => o.kind === 'mutation'))('mutation $name is forbidden to a READ token', async ({ query }) => {
    const { body } = await post(t.url, query, { authorization: `Bearer ${readToken}` });
    expect(body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('hides introspection from anonymous clients too', async () => {
    const { status } = await post(t.url, '{ __schema { queryType { name } } }');
    expect(status).toBe(401);
  });

  it('tells a valid token who it is', async () => {
    const reader = t.clientWith(readToken);
    const { viewer } = await reader.request(ViewerDocument);
    expect(viewer).toMatchObject({ name: 'reader', scopes: ['READ'], token: { name: 'reader' } });
  });

  it('stores tokens only as hashes', async () => {
    const rows = await t.app.db.prisma.apiToken.findMany();
    for (const row of rows) {
      expect(row.tokenHash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(row)).not.toContain(readToken);
    }
  });

  function wsClose(connectionParams: Record<string, unknown>) {
    return new Promise<{ code: number; result?: unknown }>((resolve) => {
      const client = createClient({
        url: `${t.url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams,
        retryAttempts: 0,
        on: { closed: (event) => resolve({ code: (event as { code: number }).code }) },
      });
      client.subscribe({ query: '{ viewer { name } }' }, {
        next: (result) => {
          resolve({ code: 0, result });
          void client.dispose();
        },
        error: () => {},
        complete: () => {},
      });
    });
  }

  it('closes a WebSocket without a token with 4403', async () => {
    expect((await wsClose({})).code).toBe(4403);
  });

  it('closes a WebSocket with a revoked token with 4403', async () => {
    expect((await wsClose({ authorization: `Bearer ${revokedToken}` })).code).toBe(4403);
  });

  it('answers over WebSocket with a valid token, through the same context', async () => {
    const outcome = await wsClose({ authorization: `Bearer ${readToken}` });
    expect(outcome.result).toEqual({ data: { viewer: { name: 'reader' } } });
  });

  it('applies the same scopes over WebSocket', async () => {
    const outcome = await new Promise<unknown>((resolve) => {
      const client = createClient({
        url: `${t.url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${readToken}` },
        retryAttempts: 0,
      });
      client.subscribe(
        { query: 'mutation { createDeployment(input: { name: "ws" }) { __typename } }' },
        { next: (r) => { resolve(r); void client.dispose(); }, error: resolve, complete: () => {} },
      );
    });
    expect(JSON.stringify(outcome)).toContain('FORBIDDEN');
  });
});
