// The pages the edge answers with itself: unknown host, service down, service deploying.
import type http from 'node:http';
import type { Duplex } from 'node:stream';

export interface EdgePage {
  status: 404 | 421 | 502 | 503;
  title: string;
  detail: string;
  /** seconds, for 503 while a deploy is in progress */
  retryAfter?: number;
}

const REASONS: Record<EdgePage['status'], string> = {
  404: 'Not Found',
  421: 'Misdirected Request',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function html(page: EdgePage): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${page.status} ${escape(page.title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}small{color:#777}</style></head>
<body><h1>${escape(page.title)}</h1><p>${escape(page.detail)}</p><p><small>${page.status} ${REASONS[page.status]} · Spunto edge</small></p></body></html>
`;
}

function headers(page: EdgePage, body: string): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    'x-spunto-edge': String(page.status),
    ...(page.retryAfter ? { 'retry-after': String(page.retryAfter) } : {}),
  };
}

export function sendPage(res: http.ServerResponse, page: EdgePage): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = html(page);
  res.writeHead(page.status, headers(page, body));
  res.end(body);
}

/** The same page on a raw socket, for upgrade requests that can't be proxied. */
export function sendPageOnSocket(socket: Duplex, page: EdgePage): void {
  const body = html(page);
  const head = Object.entries({ ...headers(page, body), connection: 'close' })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.end(`HTTP/1.1 ${page.status} ${REASONS[page.status]}\r\n${head}\r\n${body}`);
}

export const pages = {
  unknownHost: (host: string): EdgePage => ({
    status: 404,
    title: 'Unknown host',
    detail: host ? `No Spunto service answers for ${host}.` : 'The request names no host.',
  }),
  noHttpPort: (host: string, service: string): EdgePage => ({
    status: 404,
    title: 'No HTTP port',
    detail: `${host} belongs to the service "${service}", which exposes no HTTP port.`,
  }),
  deploying: (service: string, status: string): EdgePage => ({
    status: 503,
    title: status === 'STOPPING' ? 'Stopping' : 'Deploying',
    detail:
      status === 'STOPPING'
        ? `The service "${service}" is stopping.`
        : `The service "${service}" is being deployed or restarted (${status.toLowerCase().replace('_', ' ')}). Try again in a few seconds.`,
    retryAfter: 5,
  }),
  notRunning: (service: string, status: string): EdgePage => ({
    status: 503,
    title: 'Service not running',
    detail: `The service "${service}" is not running (${status.toLowerCase()}).`,
  }),
  notAnswering: (service: string, httpPort: number | null): EdgePage => ({
    status: 502,
    title: 'Service not answering',
    detail: `The service "${service}" is running but did not answer on its HTTP port${httpPort ? ` ${httpPort}` : ''}.`,
  }),
  misdirected: (host: string, servername: string): EdgePage => ({
    status: 421,
    title: 'Misdirected request',
    detail: `This connection was opened for ${servername}; it cannot serve ${host}.`,
  }),
};
