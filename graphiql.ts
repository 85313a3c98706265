// GraphiQL served from the package's own files, so the playground works on a
// machine without internet access (Yoga's default page loads them from a CDN).
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { renderGraphiQL, type GraphiQLOptions } from 'graphql-yoga';

export const GRAPHIQL_ASSETS = '/graphiql/assets/';
const dist = path.join(path.dirname(createRequire(import.meta.url).resolve('@graphql-yoga/graphiql/package.json')), 'dist');
const types: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/** The page Yoga renders, pointing at our asset route instead of the CDN. */
export function renderLocalGraphiQL(options?: GraphiQLOptions): string {
  return renderGraphiQL(options ?? {})
    .replace(/https:\/\/unpkg\.com\/@graphql-yoga\/graphiql@[^/]+\/dist\//g, GRAPHIQL_ASSETS)
    .replace(/<link rel=icon[^>]*>/, '');
}

/** Serves a file of the GraphiQL bundle; answers 404 for anything outside it. */
export async function serveGraphiqlAsset(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const relative = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(GRAPHIQL_ASSETS.length));
  const file = path.join(dist, relative);
  if (!file.startsWith(dist + path.sep) || !(path.extname(file) in types)) {
    res.writeHead(404).end();
    return;
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': types[path.extname(file)], 'cache-control': 'public, max-age=86400' }).end(body);
  } catch {
    res.writeHead(404).end();
  }
}
