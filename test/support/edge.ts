// Talking to the edge proxy as a client would: any Host header, plain HTTP or HTTPS with SNI.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { infra } from './infra.ts';

/** A port that was free a moment ago (the edge's config contract has 0 = off, so tests pick one). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface EdgeResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** HTTPS only: the certificate the edge presented */
  certificate?: PeerCertificate;
}

export interface EdgeRequest {
  port: number;
  /** the Host header (and, over TLS, the SNI name) */
  host: string;
  path?: string;
  headers?: Record<string, string>;
  /** HTTPS, validated against `ca` */
  tls?: { ca: string };
}

export function edgeRequest({ port, host, path = '/', headers = {}, tls }: EdgeRequest): Promise<EdgeResponse> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, path, headers: { host, connection: 'close', ...headers }, agent: false as const };
    const req = tls
      ? https.request({ ...options, servername: host.replace(/:\d+$/, ''), ca: tls.ca }, onResponse)
      : http.request(options, onResponse);
    function onResponse(res: http.IncomingMessage) {
      const certificate = tls ? (res.socket as TLSSocket).getPeerCertificate() : undefined;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), certificate }));
      res.on('error', reject);
    }
    req.on('error', reject);
    req.end();
  });
}

/** Polls `probe` until it returns something truthy; fails with `what` after `attempts` tries. */
export async function eventually<T>(what: string, probe: () => Promise<T | null | undefined | false>, attempts = 300, intervalMs = 200): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`${what} did not happen${last ? `: ${(last as Error).message}` : ''}`);
}

/**
 * A tiny HTTP/WebSocket upstream for busybox (`nc -ll -p 8080 -e sh /srv/upstream.sh`):
 * `/headers` echoes the request headers, `/stream` sends a chunk and waits for /tmp/go before
 * the next, `/ws` completes a WebSocket handshake and echoes one text frame as "echo:<text>".
 */
export const UPSTREAM_SCRIPT = path.join(import.meta.dirname, 'edge-upstream.sh');

/** The root Pebble signs with now (it makes a new one on every start), from its management API. */
export async function pebbleRoot(): Promise<string> {
  const env = readFileSync(path.join(infra().dir, 'infra.env'), 'utf8');
  const managementUrl = /^TEST_PEBBLE_MGMT_URL=(.+)$/m.exec(env)?.[1]?.trim();
  if (!managementUrl) throw new Error('infra.env has no TEST_PEBBLE_MGMT_URL: run scripts/infra.sh again');
  const ca = readFileSync(infra().acmeCaFile, 'utf8');
  return new Promise((resolve, reject) => {
    https
      .get(new URL('/roots/0', managementUrl), { ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString()) : reject(new Error(`Pebble roots: HTTP ${res.statusCode}`))));
      })
      .on('error', reject);
  });
}

/** Calls pebble-challtestsrv's management API (set-txt, clear-txt, set-servfail, …). */
export async function challtestsrv(command: string, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(new URL(`/${command}`, infra().challtestsrvUrl), { method: 'POST', body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`challtestsrv ${command}: HTTP ${res.status} ${await res.text()}`);
}
