// serviceLogs batches are built directly for plain selections (resolvers/subscriptions/
// serviceLogs.ts); this holds that result to exactly what graphql-js execute() gives, byte for
// byte once serialised, and checks which selections are left to execute().
import { execute, parse, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { directResult } from '../resolvers/subscriptions/serviceLogs.ts';
import { schema } from '../schema/index.ts';
import type { LogEvent } from '../services/logs/types.ts';

const at = new Date('2026-11-26T10:00:00.123Z');
const batch: LogEvent[] = [
  { kind: 'LINE', stream: 'STDOUT', timestamp: at, timestampNanos: '2026-11-26T10:00:00.123456789Z', text: 'hello "quoted" \\ é', containerId: 'c1', dropped: null },
  { kind: 'LINE', stream: 'STDERR', timestamp: at, timestampNanos: '2026-11-26T10:00:00.123456790Z', text: '', containerId: 'c1', dropped: null },
  { kind: 'DROPPED', stream: null, timestamp: at, timestampNanos: '2026-11-26T10:00:00.123000000Z', text: '3 lines dropped', containerId: null, dropped: 3 },
  { kind: 'CONTAINER_CHANGED', stream: null, timestamp: at, timestampNanos: '2026-11-26T10:00:00.123000000Z', text: 'now c2', containerId: 'c2', dropped: null },
];
// What the subscription's resolver is run with: a principal that may read.
const contextValue = { principal: { scopes: new Set(['READ']) } };

function both(query: string, events: LogEvent[] = batch) {
  const document = parse(query);
  const direct = directResult({ schema, document });
  const executed = execute({ schema, document, rootValue: events, contextValue, variableValues: { id: 'svc' } }) as ExecutionResult;
  return { direct, executed, events };
}

describe('serviceLogs results built directly', () => {
  const plain = [
    'subscription { serviceLogs(serviceId: "svc") { kind stream timestamp timestampNanos text containerId dropped } }',
    'subscription Named($id: ID!) { serviceLogs(serviceId: $id, tail: 0) { text kind } }',
    'subscription { logs: serviceLogs(serviceId: "svc") { t: text __typename k: kind at: timestamp n: dropped } }',
  ];
  for (const query of plain) {
    it(`gives execute()'s result for ${query}`, () => {
      const { direct, executed, events } = both(query);
      expect(executed.errors).toBeUndefined();
      expect(direct).not.toBeNull();
      expect(JSON.stringify(direct!(events))).toBe(JSON.stringify(executed));
    });
  }

  const leftToExecute = [
    'subscription { serviceLogs(serviceId: "svc") { text @include(if: true) } }',
    'subscription { serviceLogs(serviceId: "svc") { ...F } } fragment F on LogEvent { text }',
    'subscription { serviceLogs(serviceId: "svc") { ... on LogEvent { text } } }',
    'subscription { serviceLogs(serviceId: "svc") { text text } }',
    'subscription { serviceLogs(serviceId: "svc") @skip(if: false) { text } }',
  ];
  for (const query of leftToExecute) {
    it(`leaves ${query} to execute()`, () => {
      expect(directResult({ schema, document: parse(query) })).toBeNull();
    });
  }

  it('falls back to execute() for a batch with a null where the schema promises a value', () => {
    const broken = [{ ...batch[0], text: null as unknown as string }];
    const { direct, executed, events } = both('subscription { serviceLogs(serviceId: "svc") { text } }', broken);
    expect(direct!(events)).toBeNull();
    expect(executed.errors?.length).toBeGreaterThan(0);
  });
});
