// The edge proxy: HTTP and HTTPS listeners that route by Host to the published loopback
// port of a service, proxy WebSocket upgrades and streamed responses (http-proxy-3), answer
// HTTP-01 challenges, redirect to HTTPS where a certificate exists, and serve those
// certificates by SNI.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { createProxyServer } from 'http-proxy-3';
import type { PrismaClient } from '../../prisma/db.ts';
import type { Http01Challenges } from '../acme.ts';
import type { CertificateManager } from '../acmeCertificates.ts';
import type { DockerEngine } from '../docker/engine.ts';
import type { DomainService } from '../domains.ts';
import type { EventBus } from '../events.ts';
import type { Logger } from '../logger.ts';
import type { SecretBox } from '../secrets.ts';
import { pages, sendPage, sendPageOnSocket, type EdgePage } from './pages.ts';
import { BUSY, RouteTable, type Route } from './routes.ts';
import { TlsCertificates } from './tls.ts';

export interface EdgeOptions {
  /** 0 = off */
  httpPort: number;
  /** 0 = off */
  httpsPort: number;
  /** listen address; all interfaces when unset */
  host?: string;
  /** how often routes and certificates are re-read from the database */
  resyncIntervalMs?: number;
}

export interface EdgeDeps {
  prisma: PrismaClient;
  secrets: SecretBox;
  events: EventBus;
  engineFor: (endpoint: string) => DockerEngine;
  domains: DomainService;
  certificates: CertificateManager;
  challenges: Http01Challenges;
  logger: Logger;
}

const CHALLENGE_PATH = '/.well-known/acme-challenge/';

/** The host a request is for: lowercase, without port or trailing dot. */
export function hostOf(header: string | undefined): string {
  if (!header) return '';
  let host = header.trim().toLowerCase();
  if (host.startsWith('[')) host = host.slice(0, host.indexOf(']') + 1);
  else if (host.includes(':')) host = host.slice(0, host.indexOf(':'));
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

const hasBody = (req: http.IncomingMessage) =>
  !!req.headers['transfer-encoding'] || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

const clientAddress = (socket: Socket) => (socket.remoteAddress ?? '').replace(/^::ffff:/, '');

export class Edge {
  readonly routes: RouteTable;
  readonly tls: TlsCertificates;
  private readonly logger: Logger;
  private readonly agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256 });
  // No response timeout (streams may be long), but an upstream silent for 10 minutes is given up on.
  private readonly proxy = createProxyServer({ agent: this.agent, xfwd: false, proxyTimeout: 10 * 60_000 });
  private readonly sockets = new Set<Socket>();
  /** client sockets whose upgrade went through: an error page can no longer be written on them */
  private readonly upgraded = new WeakSet<Duplex>();
  private readonly unsubscribe: (() => void)[] = [];
  private httpServer?: http.Server;
  private httpsServer?: https.Server;
  private resync?: NodeJS.Timeout;
  // Read once after listen: server.address() is a syscall, and forward() needs the HTTPS port.
  private bound: { http: number | null; https: number | null } = { http: null, https: null };

  constructor(
    private readonly deps: EdgeDeps,
    private readonly options: EdgeOptions,
  ) {
    this.logger = deps.logger.child({ component: 'edge' });
    this.routes = new RouteTable(deps.prisma, deps.engineFor, deps.domains, deps.events, this.logger);
    this.tls = new TlsCertificates(deps.prisma, deps.secrets, this.logger);
    // Errors are handled per request (callbacks below); this keeps a stray one from crashing the process.
    this.proxy.on('error', (err) => this.logger.debug({ err }, 'proxy error'));
    this.proxy.on('proxyReqWs', (proxyReq, _req, socket) => proxyReq.once('upgrade', () => this.upgraded.add(socket)));
    // The upstream's hop-by-hop headers stay with its hop: an upstream that closes every
    // connection must not make clients reconnect to the edge for every request.
    this.proxy.on('proxyRes', (proxyRes) => dropHopByHop(proxyRes.headers));
  }

  get enabled(): boolean {
    return this.options.httpPort > 0 || this.options.httpsPort > 0;
  }

  /** The bound HTTP port, or null when the listener is off. */
  get httpPort(): number | null {
    return this.bound.http;
  }

  get httpsPort(): number | null {
    return this.bound.https;
  }

  async start(): Promise<void> {
    if (!this.enabled) return;
    this.unsubscribe.push(
      this.deps.domains.onChange(async (change) => {
        await Promise.all([this.routes.refreshService(change.serviceId), ...change.domains.map((domain) => this.tls.refresh(domain))]);
      }),
      this.deps.certificates.onChange(({ domain }) => this.tls.refresh(domain)),
    );
    await Promise.all([this.routes.refreshAll(), this.tls.refreshAll()]);
    if (this.options.httpPort) {
      this.httpServer = http.createServer((req, res) => this.handle(req, res, false));
      this.httpServer.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
      this.bound.http = await this.listen(this.httpServer, this.options.httpPort);
    }
    if (this.options.httpsPort) {
      this.httpsServer = https.createServer({
        SNICallback: (servername, callback) => {
          const context = this.tls.get(hostOf(servername));
          if (context) callback(null, context);
          else callback(new Error(`no certificate for ${servername}`));
        },
      });
      this.httpsServer.on('request', (req, res) => this.handle(req, res, true));
      this.httpsServer.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
      this.httpsServer.on('tlsClientError', (err) => this.logger.debug({ err }, 'TLS handshake failed'));
      this.bound.https = await this.listen(this.httpsServer, this.options.httpsPort);
    }
    const interval = this.options.resyncIntervalMs ?? 30_000;
    let resyncing = false;
    this.resync = setInterval(() => {
      if (resyncing) return;
      resyncing = true;
      Promise.all([this.routes.refreshAll(), this.tls.refreshAll()])
        .catch((err) => this.logger.warn({ err }, 'edge resync failed'))
        .finally(() => (resyncing = false));
    }, interval);
    this.resync.unref();
    this.logger.info({ http: this.httpPort, https: this.httpsPort, routes: this.routes.size }, 'edge listening');
  }

  async stop(): Promise<void> {
    clearInterval(this.resync);
    for (const off of this.unsubscribe.splice(0)) off();
    this.routes.stop();
    const closing = [this.httpServer, this.httpsServer]
      .filter((s): s is http.Server => !!s)
      .map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(closing);
    this.bound = { http: null, https: null };
    this.agent.destroy();
  }

  private listen(server: http.Server, port: number): Promise<number> {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: this.options.host }, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, secure: boolean): void {
    const host = hostOf(req.headers.host);
    const url = req.url ?? '/';
    if (!secure && url.startsWith(CHALLENGE_PATH)) {
      const answer = this.deps.challenges.response(url.slice(CHALLENGE_PATH.length).split(/[?#]/)[0], host);
      if (answer !== undefined) {
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
        res.end(answer);
        return;
      }
    }
    if (secure) {
      const servername = (req.socket as TLSSocket).servername;
      if (servername && hostOf(servername) !== host) return sendPage(res, pages.misdirected(host, servername));
    }
    setForwardedHeaders(req, host, secure);
    const route = this.routes.lookup(host);
    if (route) return this.forward(route, host, req, res, secure);
    this.routes.resolve(host).then(
      (found) => (found ? this.forward(found, host, req, res, secure) : sendPage(res, pages.unknownHost(host))),
      (err) => {
        this.logger.error({ err, host }, 'route lookup failed');
        sendPage(res, pages.unknownHost(host));
      },
    );
  }

  /**
   * Proxies to the route's port. A route found down, or an upstream that refuses, is re-read
   * once first (a deploy or start may have just finished) and the request retried if the
   * route changed; only requests without a body are retried.
   */
  private forward(route: Route, host: string, req: http.IncomingMessage, res: http.ServerResponse, secure: boolean, retry = true): void {
    const httpsPort = this.httpsPort;
    if (!secure && httpsPort && this.tls.has(host)) {
      res.writeHead(308, { location: `https://${host}${httpsPort === 443 ? '' : `:${httpsPort}`}${req.url ?? '/'}`, 'content-length': '0' });
      res.end();
      return;
    }
    const again = (next: (fresh: Route) => void) =>
      this.routes.recheck(route.serviceId).then(
        (fresh) => (fresh ? next(fresh) : sendPage(res, pages.unknownHost(host))),
        () => sendPage(res, this.failurePage(route)),
      );
    const unavailable = this.unavailable(route, host);
    if (unavailable) {
      if (retry) void again((fresh) => this.forward(fresh, host, req, res, secure, false));
      else sendPage(res, unavailable);
      return;
    }
    // A retry sends no body: the request's own stream has been consumed by the first attempt.
    const options = { target: { host: '127.0.0.1', port: route.port! }, ...(!retry && { buffer: Readable.from([]) }) };
    this.proxy.web(req, res, options, (err) => {
      this.logger.debug({ err, serviceId: route.serviceId, port: route.port }, 'upstream failed');
      if (!retry || hasBody(req) || res.headersSent) return sendPage(res, this.failurePage(route));
      void again((fresh) => {
        if (fresh.port !== null && fresh.port === route.port) sendPage(res, this.failurePage(fresh));
        else this.forward(fresh, host, req, res, secure, false);
      });
    });
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const secure = !!(req.socket as TLSSocket).encrypted;
    const host = hostOf(req.headers.host);
    setForwardedHeaders(req, host, secure);
    let recheck = true;
    const proxy = (route: Route | undefined): void => {
      if (!route) return sendPageOnSocket(socket, pages.unknownHost(host));
      const unavailable = this.unavailable(route, host);
      if (unavailable && recheck) {
        // As for requests: a route found down is re-read once. (A failed upgrade can't be retried:
        // the proxy closes the client socket right after reporting the error.)
        recheck = false;
        this.routes.recheck(route.serviceId).then(proxy, () => sendPageOnSocket(socket, unavailable));
        return;
      }
      if (unavailable) return sendPageOnSocket(socket, unavailable);
      this.proxy.ws(req, socket, head, { target: { host: '127.0.0.1', port: route.port! } }, (err) => {
        this.logger.debug({ err, serviceId: route.serviceId, port: route.port }, 'upstream failed');
        if (this.upgraded.has(socket) || !socket.writable) socket.destroy();
        else sendPageOnSocket(socket, this.failurePage(route));
        void this.routes.recheck(route.serviceId).catch(() => undefined);
      });
    };
    const route = this.routes.lookup(host);
    if (route) return proxy(route);
    this.routes.resolve(host).then(proxy, () => sendPageOnSocket(socket, pages.unknownHost(host)));
  }

  /** The page to answer instead of proxying, when there is nothing to proxy to. */
  private unavailable(route: Route, host: string): EdgePage | null {
    if (route.port !== null) return null;
    if (!route.httpPort) return pages.noHttpPort(host, route.serviceName);
    if (BUSY.includes(route.status)) return pages.deploying(route.serviceName, route.status);
    return pages.notRunning(route.serviceName, route.status);
  }

  private failurePage(route: Route): EdgePage {
    return BUSY.includes(route.status) ? pages.deploying(route.serviceName, route.status) : pages.notAnswering(route.serviceName, route.httpPort);
  }
}

function dropHopByHop(headers: http.IncomingHttpHeaders): void {
  const listed = String(headers.connection ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  for (const name of [...listed, 'connection', 'keep-alive', 'proxy-connection']) delete headers[name];
}

/** X-Forwarded-For is appended to (the edge is one more hop); Proto, Host and Port are the edge's own. */
function setForwardedHeaders(req: http.IncomingMessage, host: string, secure: boolean): void {
  const client = clientAddress(req.socket);
  const prior = req.headers['x-forwarded-for'];
  req.headers['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${client}` : client;
  req.headers['x-forwarded-proto'] = secure ? 'https' : 'http';
  req.headers['x-forwarded-host'] = req.headers.host ?? host;
  req.headers['x-forwarded-port'] = String(req.socket.localPort ?? '');
}
