// The composition root: config → database → services → GraphQL over HTTP, SSE and
// WebSocket. The only file that knows every part.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { GraphQLError } from 'graphql';
import { createYoga, type Plugin, type YogaInitialContext } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { Config } from './config.ts';
import { GRAPHIQL_ASSETS, renderLocalGraphiQL, serveGraphiqlAsset } from './graphiql.ts';
import { bindPrisma } from './prisma/client.ts';
import { openDatabase } from './prisma/db.ts';
import { applyMigrations } from './prisma/migrator.ts';
import type { Context } from './schema/context.ts';
import { schema } from './schema/index.ts';
import { useSharedLogResults } from './resolvers/subscriptions/serviceLogs.ts';
import { serveGraphqlWs } from './websocket.ts';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Redis } from 'ioredis';
import { DockerEventWatcher } from './services/docker/eventWatcher.ts';
import { createEventBus } from './services/events.ts';
import { DomainError } from './services/errors.ts';
import { createServices } from './services/index.ts';
import { Edge } from './services/edge/edge.ts';
import { createLogger, type Logger } from './services/logger.ts';
import { createSecretBox, loadSecretKey } from './services/secrets.ts';

export interface BuildOptions {
  logger?: Logger;
}

function bearer(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const match = /^Bearer\s+(\S+)$/i.exec(value.trim());
  return match ? match[1] : null;
}

// By shape, not instanceof: graphql may be loaded both as CommonJS and as ESM.
function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof Error && error.name === 'GraphQLError';
}

const unauthenticated = () =>
  new GraphQLError('Authentication required: send "Authorization: Bearer <token>"', {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
  });

export async function buildApp(config: Config, options: BuildOptions = {}) {
  const logger = options.logger ?? createLogger(config.logLevel);
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    pglitePath: path.join(config.dataDir, 'pglite'),
  });
  const applied = await applyMigrations(db.adapter);
  if (applied.length) logger.info({ applied }, 'applied database migrations');
  bindPrisma(db.prisma);

  const secrets = createSecretBox(await loadSecretKey(config.secretKey, config.dataDir));
  // Several API instances share events through Redis; one instance keeps them in memory.
  const redis = config.redisUrl
    ? { publish: new Redis(config.redisUrl, { lazyConnect: false }), subscribe: new Redis(config.redisUrl) }
    : null;
  const events = createEventBus(
    redis ? createRedisEventTarget({ publishClient: redis.publish, subscribeClient: redis.subscribe }) : undefined,
  );
  const services = createServices({
    prisma: db.prisma,
    secrets,
    events,
    logger,
    bindRoots: config.bindRoots,
    hookTimeoutSeconds: config.hookTimeoutSeconds,
    domains: {
      baseDomain: config.baseDomain,
      dnsServers: config.dnsServers,
      acme: config.acme,
      // HTTP-01 is answered on the edge's HTTP listener; the certificate is served on its HTTPS one.
      certificates: config.edge.httpPort > 0 && config.edge.httpsPort > 0,
    },
  });
  // The edge proxy (routes by Host, TLS by SNI, HTTP-01 answers) runs beside the API.
  const edge = new Edge(
    {
      prisma: db.prisma,
      secrets,
      events,
      engineFor: services.engineFor,
      domains: services.domains,
      certificates: services.certificates,
      challenges: services.acme.challenges,
      logger,
    },
    { httpPort: config.edge.httpPort, httpsPort: config.edge.httpsPort },
  );
  const defaultNode = await services.nodes.ensureDefaultNode(config.dockerHost);
  // Heartbeat, and on each beat take over what dead instances left behind.
  await services.instances.register(() => services.deployer.recover());
  await services.instances.prune();
  await services.deployer.recover();
  await services.stateSync.resync().catch((err) => logger.warn({ err }, 'could not resync services with Docker'));
  // Docker's own view of each node feeds the state machine, so state stays true
  // when a container changes outside the API.
  const watchers = (await db.prisma.node.findMany()).map(
    (node) =>
      new DockerEventWatcher(
        services.engineFor(node.endpoint).docker,
        {
          onEvent: (event) => services.stateSync.onContainerEvent(event),
          onReconnect: () => services.stateSync.resync(),
        },
        logger,
      ),
  );
  for (const watcher of watchers) watcher.start();
  await services.auth.bootstrap({
    configuredToken: config.bootstrapToken,
    dataDir: config.dataDir,
    print: (line) => process.stdout.write(line + '\n'),
  });

  // Every operation needs a token: refuse before anything is parsed or executed.
  const requireToken: Plugin<Context> = {
    onExecute({ args, setResultAndStopExecution }) {
      if (!args.contextValue.principal) setResultAndStopExecution({ errors: [unauthenticated()] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      if (!args.contextValue.principal) setResultAndStopExecution({ errors: [unauthenticated()] });
    },
  };

  const yoga = createYoga<{ connectionParams?: Record<string, unknown> }, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: {
      title: 'Spunto',
      subscriptionsProtocol: 'WS',
      headers: JSON.stringify({ Authorization: 'Bearer <your API token>' }),
    },
    renderGraphiQL: renderLocalGraphiQL,
    logging: logger,
    plugins: [EnvelopArmorPlugin({ maxDepth: { n: 12 } }), requireToken, useSharedLogResults()],
    context: async (initial: YogaInitialContext & { connectionParams?: Record<string, unknown> }) => {
      const token =
        bearer(initial.request?.headers.get('authorization')) ??
        bearer(initial.connectionParams?.authorization) ??
        bearer(initial.connectionParams?.Authorization);
      return { principal: await services.auth.authenticate(token), services };
    },
    maskedErrors: {
      // Domain errors keep their message and code; anything else is logged and hidden.
      maskError(error, message) {
        const original = isGraphQLError(error) ? error.originalError : error;
        if (original instanceof DomainError) {
          return new GraphQLError(original.message, {
            nodes: isGraphQLError(error) ? error.nodes : undefined,
            path: isGraphQLError(error) ? error.path : undefined,
            extensions: { code: original.code },
          });
        }
        if (isGraphQLError(error) && (!original || isGraphQLError(original))) return (original as GraphQLError) ?? error;
        logger.error({ err: original }, 'unexpected error');
        return new GraphQLError(message, {
          path: isGraphQLError(error) ? error.path : undefined,
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        });
      },
    },
  });

  const health = async () => {
    const [database, engine] = await Promise.all([
      db.ping().then(
        () => ({ ok: true, kind: db.kind }),
        (err: Error) => ({ ok: false, kind: db.kind, error: err.message }),
      ),
      services
        .engineFor(defaultNode.endpoint)
        .ping()
        .then(
          () => ({ ok: true, endpoint: defaultNode.endpoint }),
          (err: Error) => ({ ok: false, endpoint: defaultNode.endpoint, error: err.message }),
        ),
    ]);
    return { ok: database.ok && engine.ok, database, docker: engine };
  };

  const server = http.createServer((req, res) => {
    if (req.url === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      void health().then((body) => {
        res.writeHead(body.ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
      return;
    }
    if (req.url?.startsWith(GRAPHIQL_ASSETS) && req.method === 'GET') {
      void serveGraphiqlAsset(req, res);
      return;
    }
    void yoga.handle(req, res);
  });

  const wss = new WebSocketServer({ server, path: '/graphql' });
  serveGraphqlWs<Record<string, unknown>>(
    {
      execute: (args) => (args.rootValue as { execute: typeof import('graphql').execute }).execute(args),
      subscribe: (args) => (args.rootValue as { subscribe: typeof import('graphql').subscribe }).subscribe(args),
      // A bad or missing token closes the socket with 4403 Forbidden.
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const principal = await services.auth.authenticate(bearer(params.authorization) ?? bearer(params.Authorization));
        return principal !== null;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          socket: ctx.extra.socket,
          params: payload,
          connectionParams: ctx.connectionParams,
        });
        const args = {
          schema,
          operationName: payload.operationName,
          document: parse(payload.query),
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        return errors.length ? errors : args;
      },
    },
    wss,
  );

  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  let stopped = false;
  return {
    config,
    services,
    yoga,
    db,
    logger,
    watchers,
    edge,
    get url(): string {
      const address = server.address() as AddressInfo;
      return `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
    },
    async start(): Promise<void> {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => resolve());
      });
      logger.info({ url: `${this.url}/graphql` }, 'Spunto API listening');
      await edge.start();
      services.certificates.start();
      services.scheduler.start();
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      // Live log subscriptions end first (SSE responses would hold the server open) and their Docker streams close.
      await services.logs.close();
      for (const client of wss.clients) client.close(1001, 'server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, 2000).unref();
      });
      await services.certificates.stop();
      // Scheduled jobs stop firing; job runs carried by this instance are stopped and recorded.
      await services.scheduler.stop();
      await services.jobs.shutdown();
      await edge.stop();
      await Promise.all(watchers.map((watcher) => watcher.stop()));
      await services.instances.unregister().catch(() => undefined);
      if (redis) await Promise.all([redis.publish.quit(), redis.subscribe.quit()]);
      await db.close();
    },
  };
}

export type App = Awaited<ReturnType<typeof buildApp>>;
