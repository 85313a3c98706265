// The server as a process: npm start's entry point, config errors, health, shutdown.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.ts';
import { startTestApp } from './support/app.ts';
import { infra } from './support/infra.ts';

const root = path.resolve(import.meta.dirname, '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');

function run(env: Record<string, string>) {
  const child = spawn(tsx, ['main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Generous: a cold start compiles TypeScript and WebAssembly, slow on a busy machine.
  const waitFor = async (pattern: RegExp, ms = 150_000) => {
    const until = Date.now() + ms;
    while (!pattern.test(output)) {
      if (Date.now() > until || child.exitCode !== null) throw new Error(`no ${pattern} in:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return output;
  };
  return { child, exited, waitFor, output: () => output };
}

describe('configuration', () => {
  it('reports every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', SPUNTO_EDGE_HTTP_PORT: '70000', SPUNTO_BIND_ROOTS: 'relative/path' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const key of ['PORT', 'DATABASE_URL', 'SPUNTO_EDGE_HTTP_PORT', 'SPUNTO_BIND_ROOTS']) expect(problems).toContain(key);
  });

  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      dockerHost: 'unix:///var/run/docker.sock',
      baseDomain: 'localhost',
      edge: { httpPort: 80, httpsPort: 443 },
      bindRoots: [],
    });
    expect(config.databaseUrl).toBeUndefined();
  });

  it('makes the process exit non-zero with the problems listed', async () => {
    const proc = run({ PORT: 'nope', REDIS_URL: 'http://x' });
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain('PORT');
    expect(proc.output()).toContain('REDIS_URL');
  }, 150_000);
});

describe('the server process', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('starts on PGlite, prints the bootstrap token once, answers, and stops on SIGTERM', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'spunto-proc-'));
    dirs.push(dataDir);
    const proc = run({ PORT: '0', SPUNTO_DATA_DIR: dataDir, DOCKER_HOST: infra().dockerHost, SPUNTO_EDGE_HTTP_PORT: '0', SPUNTO_EDGE_HTTPS_PORT: '0' });
    const out = await proc.waitFor(/"url":"(http:\/\/[^"]+)"/);
    const url = /"url":"(http:\/\/[^"]+)\/graphql"/.exec(out)![1];
    const token = (await readFile(path.join(dataDir, 'bootstrap-token'), 'utf8')).trim();
    expect(out).toContain(token);
    expect((await stat(path.join(dataDir, 'bootstrap-token'))).mode & 0o777).toBe(0o600);

    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ viewer { __typename name } }' }),
    });
    expect(await res.json()).toEqual({ data: { viewer: { __typename: 'Viewer', name: 'bootstrap' } } });

    // GraphiQL, with its assets served by the API itself, not a CDN.
    const page = await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('YogaGraphiQL');
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)[a-z]/i);
    const bundle = await fetch(`${url}/graphiql/assets/yoga-graphiql.umd.js`);
    expect(bundle.status).toBe(200);
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(100_000);

    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);

    // A restart reuses the data dir: same database, no new bootstrap token.
    const again = run({ PORT: '0', SPUNTO_DATA_DIR: dataDir, DOCKER_HOST: infra().dockerHost, SPUNTO_EDGE_HTTP_PORT: '0', SPUNTO_EDGE_HTTPS_PORT: '0' });
    const out2 = await again.waitFor(/listening/);
    expect(out2).not.toContain('bootstrap admin token');
    again.child.kill('SIGINT');
    expect(await again.exited).toBe(0);
  }, 400_000);
});

describe('GET /healthz', () => {
  it('is 200 when the database and the engine answer', async () => {
    const t = await startTestApp();
    try {
      const res = await fetch(`${t.url}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ ok: true, database: { ok: true, kind: 'pglite' }, docker: { ok: true } });
    } finally {
      await t.stop();
    }
  });

  it('is 503 and names the engine when Docker does not answer', async () => {
    const t = await startTestApp({ env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    try {
      const res = await fetch(`${t.url}/healthz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ ok: false, database: { ok: true }, docker: { ok: false } });
    } finally {
      await t.stop();
    }
  });
});
