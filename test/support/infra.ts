// Reads what scripts/infra.sh started (it writes infra.env in its state dir).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Infra {
  dockerHost: string;
  registry: string;
  databaseUrl: string;
  pgAdminUrl: string;
  redisUrl: string;
  acmeDirectory: string;
  acmeCaFile: string;
  pebbleHttpPort: number;
  dnsServer: string;
  challtestsrvUrl: string;
  imageBusybox: string;
  imageWeb: string;
  registryImageBusybox: string;
  registryImageWeb: string;
  dir: string;
}

let cached: Infra | undefined;

export function infra(): Infra {
  if (cached) return cached;
  const dir = process.env.SPUNTO_INFRA_DIR ?? path.join(process.env.TMPDIR ?? os.tmpdir(), 'spunto-infra');
  const file = path.join(dir, 'infra.env');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`${file} is missing: run scripts/infra.sh (npm test does it for you)`);
  }
  const env = Object.fromEntries(
    text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#') && line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  const need = (key: string): string => {
    const value = env[key];
    if (!value) throw new Error(`${file} has no ${key}: run scripts/infra.sh again`);
    return value;
  };
  cached = {
    dir,
    dockerHost: need('DOCKER_HOST'),
    registry: need('TEST_REGISTRY'),
    databaseUrl: need('TEST_DATABASE_URL'),
    pgAdminUrl: need('TEST_PG_ADMIN_URL'),
    redisUrl: need('TEST_REDIS_URL'),
    acmeDirectory: need('TEST_ACME_DIRECTORY'),
    acmeCaFile: need('TEST_ACME_CA_FILE'),
    pebbleHttpPort: Number(need('TEST_PEBBLE_HTTP_PORT')),
    dnsServer: need('TEST_DNS_SERVER'),
    challtestsrvUrl: need('TEST_CHALLTESTSRV_URL'),
    imageBusybox: need('TEST_IMAGE_BUSYBOX'),
    imageWeb: need('TEST_IMAGE_WEB'),
    registryImageBusybox: need('TEST_REGISTRY_IMAGE_BUSYBOX'),
    registryImageWeb: need('TEST_REGISTRY_IMAGE_WEB'),
  };
  return cached;
}
