// The only file that reads process.env. Every problem is reported at once.
import path from 'node:path';
import { z } from 'zod';

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[0-9.]+|[a-zA-Z0-9.-]+)(:\d{1,5})?$/, 'expected host or host:port');
const csv = (item: z.ZodType<string, string>) =>
  z
    .string()
    .optional()
    .transform((v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []))
    .pipe(z.array(item));

const schema = z.object({
  PORT: port(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  SPUNTO_DATA_DIR: z.string().min(1).default('./.spunto'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
  DOCKER_HOST: z
    .string()
    .regex(/^(unix|tcp|ssh|npipe):\/\//, 'must be unix://, tcp://, ssh:// or npipe://')
    .default('unix:///var/run/docker.sock'),
  SPUNTO_BOOTSTRAP_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  SPUNTO_SECRET_KEY: z
    .string()
    .regex(/^[A-Za-z0-9+/=_-]{43,}$/, 'must be 32 random bytes in base64 (openssl rand -base64 32)')
    .optional(),
  SPUNTO_BASE_DOMAIN: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i, 'must be a DNS name')
    .default('localhost'),
  SPUNTO_EDGE_HTTP_PORT: port(80),
  SPUNTO_EDGE_HTTPS_PORT: port(443),
  SPUNTO_ACME_DIRECTORY: z.url().default('https://acme-v02.api.letsencrypt.org/directory'),
  SPUNTO_ACME_CA_FILE: z.string().optional(),
  SPUNTO_DNS_SERVERS: csv(hostPort),
  SPUNTO_BIND_ROOTS: csv(z.string().refine((p) => path.isAbsolute(p), 'bind roots must be absolute paths')),
  SPUNTO_HOOK_TIMEOUT_SECONDS: z.coerce.number().int().positive().default(600),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  redisUrl?: string;
  dockerHost: string;
  bootstrapToken?: string;
  secretKey?: string;
  baseDomain: string;
  edge: { httpPort: number; httpsPort: number };
  acme: { directoryUrl: string; caFile?: string };
  dnsServers: string[];
  bindRoots: string[];
  hookTimeoutSeconds: number;
  logLevel: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = schema.safeParse(
    Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')),
  );
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.SPUNTO_DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    dockerHost: e.DOCKER_HOST,
    bootstrapToken: e.SPUNTO_BOOTSTRAP_TOKEN,
    secretKey: e.SPUNTO_SECRET_KEY,
    baseDomain: e.SPUNTO_BASE_DOMAIN.toLowerCase(),
    edge: { httpPort: e.SPUNTO_EDGE_HTTP_PORT, httpsPort: e.SPUNTO_EDGE_HTTPS_PORT },
    acme: { directoryUrl: e.SPUNTO_ACME_DIRECTORY, caFile: e.SPUNTO_ACME_CA_FILE },
    dnsServers: e.SPUNTO_DNS_SERVERS,
    bindRoots: e.SPUNTO_BIND_ROOTS.map((p: string) => path.resolve(p)),
    hookTimeoutSeconds: e.SPUNTO_HOOK_TIMEOUT_SECONDS,
    logLevel: e.LOG_LEVEL,
  };
}
