import {
  createSourceEventStream,
  execute,
  getNullableType,
  getOperationAST,
  isLeafType,
  isNonNullType,
  isObjectType,
  Kind,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { builder } from '../../schema/builder.ts';
import { LogEventRef } from '../../schema/types/LogEvent.ts';
import type { LogEvent } from '../../services/logs/types.ts';

builder.subscriptionField('serviceLogs', (t) =>
  t.field({
    type: [LogEventRef],
    description:
      "The service's container logs: `tail` past lines (0..10000; 100 by default, up to 10000 when `since` is given), " +
      'optionally only those since `since`, then live lines. Each message carries one or more events in order. ' +
      'Follows the service across deploys (CONTAINER_CHANGED) and restarts (CONTAINER_STOPPED); a slow reader ' +
      'gets DROPPED instead of unbounded buffering. Completes when the service is deleted.',
    authScopes: { read: true },
    args: {
      serviceId: t.arg.id({ required: true }),
      tail: t.arg.int(),
      since: t.arg({ type: 'DateTime' }),
    },
    subscribe: (_root, { serviceId, tail, since }, ctx) => ctx.services.logs.subscribe(String(serviceId), { tail, since }),
    resolve: (batch) => batch,
  }),
);

// --- shared execution -------------------------------------------------------------------------
//
// Every subscriber of a container receives the follower's line batches as the very same
// arrays (services/logs/queue.ts hands a batch over without copying when a subscriber keeps
// up). A LogEvent's fields depend on nothing but the event — no arguments, no context, no
// per-field auth — so executing one selection set on one batch gives the same result for
// everyone. This plugin executes each (batch, document, variables) once and hands the result
// to every subscription asking for it, instead of once per subscriber: with 100 subscribers
// that is most of the server's work per line. Only operations whose one root field is
// serviceLogs are touched; results are cached per batch object and collected with it.

const results = new WeakMap<object, Map<string, ExecutionResult | Promise<ExecutionResult>>>();
const documentIds = new WeakMap<DocumentNode, number>();
let nextDocumentId = 0;

function isServiceLogs(args: ExecutionArgs): boolean {
  const operation = getOperationAST(args.document, args.operationName);
  if (operation?.operation !== 'subscription' || operation.selectionSet.selections.length !== 1) return false;
  const [selection] = operation.selectionSet.selections;
  return selection.kind === 'Field' && selection.name.value === 'serviceLogs';
}

function cacheKey(args: ExecutionArgs): string {
  let id = documentIds.get(args.document);
  if (id === undefined) documentIds.set(args.document, (id = nextDocumentId++));
  return `${id}|${args.operationName ?? ''}|${JSON.stringify(args.variableValues ?? {})}`;
}

// --- direct results ---------------------------------------------------------------------------
//
// A batch of a few hundred lines costs graphql-js a resolver call, argument coercion and
// completion per field per line. For the usual selection (LogEvent fields exposed as they
// are, leaf types, no arguments, directives, fragments or duplicate keys) the result is
// built directly instead: the same keys in the same order, each value serialised by its
// own GraphQL type. Anything else, or a null where the schema promises a value, goes
// through execute() as before. test/logs-selection.test.ts holds the two to the same output.

type DirectResult = (batch: readonly LogEvent[]) => ExecutionResult | null;

/** A builder of the very result execute() gives for a batch, or null when the selection needs execute(). */
export function directResult(args: Pick<ExecutionArgs, 'schema' | 'document' | 'operationName'>): DirectResult | null {
  const operation = getOperationAST(args.document, args.operationName);
  const [root] = (operation?.selectionSet.selections ?? []) as FieldNode[];
  const type = args.schema.getType('LogEvent');
  if (root?.kind !== Kind.FIELD || root.directives?.length || !root.selectionSet || !isObjectType(type)) return null;
  const readers: { key: string; read: (event: LogEvent) => unknown; required: boolean }[] = [];
  for (const selection of root.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD || selection.directives?.length || selection.arguments?.length || selection.selectionSet) return null;
    const name = selection.name.value;
    const key = selection.alias?.value ?? name;
    if (readers.some((r) => r.key === key)) return null;
    if (name === '__typename') {
      readers.push({ key, read: () => type.name, required: true });
      continue;
    }
    const field = type.getFields()[name];
    const leaf = field && getNullableType(field.type);
    if (!field || field.extensions?.pothosExposedField !== name || !isLeafType(leaf)) return null;
    const property = name as keyof LogEvent;
    readers.push({ key, read: (event) => (event[property] == null ? null : leaf.serialize(event[property])), required: isNonNullType(field.type) });
  }
  const responseKey = root.alias?.value ?? root.name.value;
  return (batch) => {
    const events: Record<string, unknown>[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const out: Record<string, unknown> = {};
      for (const { key, read, required } of readers) {
        const value = read(batch[i]);
        if (value === null && required) return null;
        out[key] = value;
      }
      events[i] = out;
    }
    return { data: { [responseKey]: events } };
  };
}

/** directResult per parsed document (yoga caches parsed documents, so subscribers share one). */
const directResults = new WeakMap<DocumentNode, Map<string, DirectResult | null>>();
function directResultFor(args: ExecutionArgs): DirectResult | null {
  let byOperation = directResults.get(args.document);
  if (!byOperation) directResults.set(args.document, (byOperation = new Map()));
  const name = args.operationName ?? '';
  if (!byOperation.has(name)) byOperation.set(name, directResult(args));
  return byOperation.get(name)!;
}

/** graphql-js's own per-event mapping (subscribe = source stream + execute per event), memoized per batch. */
async function sharedSubscribe(args: ExecutionArgs) {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source;
  const key = cacheKey(args);
  const direct = directResultFor(args);
  const resultOf = (batch: object) => (Array.isArray(batch) && direct?.(batch)) || execute({ ...args, rootValue: batch });
  const run = (payload: unknown): ExecutionResult | Promise<ExecutionResult> => {
    if (typeof payload !== 'object' || payload === null) return execute({ ...args, rootValue: payload });
    let byKey = results.get(payload);
    if (!byKey) results.set(payload, (byKey = new Map()));
    let result = byKey.get(key);
    if (!result) byKey.set(key, (result = resultOf(payload)));
    return result;
  };
  const iterator = source[Symbol.asyncIterator]();
  // A plain iterator, not an async generator: return() must reach the source at once, even
  // while a next() is pending on an idle stream, so the log subscription is released.
  const mapped: AsyncGenerator<ExecutionResult, void, void> = {
    async next() {
      const step = await iterator.next();
      return step.done ? { done: true, value: undefined } : { done: false, value: await run(step.value) };
    },
    async return() {
      await iterator.return?.();
      return { done: true, value: undefined };
    },
    async throw(error: unknown) {
      await iterator.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return mapped;
}

/** Yoga/envelop plugin: shared execution of serviceLogs results (see above). */
export function useSharedLogResults(): Plugin {
  return {
    onSubscribe({ args, setSubscribeFn }) {
      if (isServiceLogs(args)) setSubscribeFn(sharedSubscribe as typeof import('graphql').subscribe);
    },
  };
}
