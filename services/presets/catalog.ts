// The presets marketplace: pre-configured services with the settings each upstream image
// documents (image, env names, data path, ports, health check) and the outputs other
// services reference as ${{<service>.<KEY>}}. Output templates refer to the preset
// service's own variables (${{POSTGRES_PASSWORD}}) and platform values (${{SPUNTO_HOSTNAME}}).

export type SecretKind = 'password' | 'key' | 'username';

export interface PresetEnvVar {
  key: string;
  /** a fixed default; absent when the value is generated */
  value?: string;
  /** a fresh random value for every service added from the preset */
  generate?: { kind: SecretKind; length: number };
  description: string;
}

export interface PresetHealthCheck {
  /** Docker HEALTHCHECK form: ["CMD-SHELL", "…"] or ["CMD", …] */
  test: string[];
  intervalSeconds: number;
  timeoutSeconds: number;
  retries: number;
  startPeriodSeconds: number;
}

export interface PresetOutput {
  key: string;
  template: string;
  description: string;
}

export interface PresetDefinition {
  id: string;
  name: string;
  description: string;
  category: 'database' | 'cache' | 'storage' | 'queue';
  image: string;
  documentationUrl: string;
  /** the service name used when none is given */
  defaultName: string;
  env: PresetEnvVar[];
  /** `name` is prefixed with the service name (volumes are per deployment) */
  volumes: { name: string; mountPath: string; description: string }[];
  /** the main port other services connect to, on the deployment network */
  port: number;
  /** the container port the edge proxy exposes, for presets with a web interface or HTTP API */
  httpPort: number | null;
  command: string | null;
  healthCheck: PresetHealthCheck;
  outputs: PresetOutput[];
}

const password = (description: string, length = 32): Omit<PresetEnvVar, 'key'> => ({ generate: { kind: 'password', length }, description });
const health = (test: string[], startPeriodSeconds = 30): PresetHealthCheck => ({
  test,
  intervalSeconds: 10,
  timeoutSeconds: 5,
  retries: 5,
  startPeriodSeconds,
});
const HOST = '${{SPUNTO_HOSTNAME}}';

export const PRESETS: readonly PresetDefinition[] = [
  {
    id: 'postgresql',
    name: 'PostgreSQL',
    description: 'PostgreSQL 17 relational database, with a database and an owner user created on first start.',
    category: 'database',
    image: 'postgres:17',
    documentationUrl: 'https://hub.docker.com/_/postgres',
    defaultName: 'postgres',
    env: [
      { key: 'POSTGRES_USER', value: 'app', description: 'superuser created on first start' },
      { key: 'POSTGRES_PASSWORD', ...password('password of POSTGRES_USER') },
      { key: 'POSTGRES_DB', value: 'app', description: 'database created on first start' },
      { key: 'PGDATA', value: '/var/lib/postgresql/data/pgdata', description: 'a subdirectory of the volume, so initdb never sees a non-empty mount point' },
    ],
    volumes: [{ name: 'data', mountPath: '/var/lib/postgresql/data', description: 'the database cluster' }],
    port: 5432,
    httpPort: null,
    command: null,
    healthCheck: health(['CMD-SHELL', 'pg_isready -U "$POSTGRES_USER" -d "$POSTGRES_DB"']),
    outputs: [
      {
        key: 'DATABASE_URL',
        template: `postgresql://\${{POSTGRES_USER}}:\${{POSTGRES_PASSWORD}}@${HOST}:5432/\${{POSTGRES_DB}}`,
        description: 'libpq connection URI',
      },
      { key: 'PGHOST', template: HOST, description: 'libpq host' },
      { key: 'PGPORT', template: '5432', description: 'libpq port' },
      { key: 'PGUSER', template: '${{POSTGRES_USER}}', description: 'libpq user' },
      { key: 'PGPASSWORD', template: '${{POSTGRES_PASSWORD}}', description: 'libpq password' },
      { key: 'PGDATABASE', template: '${{POSTGRES_DB}}', description: 'libpq database' },
    ],
  },
  {
    id: 'mysql',
    name: 'MySQL',
    description: 'MySQL 8.4 LTS, with a database and an application user created on first start.',
    category: 'database',
    image: 'mysql:8.4',
    documentationUrl: 'https://hub.docker.com/_/mysql',
    defaultName: 'mysql',
    env: [
      { key: 'MYSQL_ROOT_PASSWORD', ...password('password of the root account') },
      { key: 'MYSQL_DATABASE', value: 'app', description: 'database created on first start' },
      { key: 'MYSQL_USER', value: 'app', description: 'user created on first start, owner of MYSQL_DATABASE' },
      { key: 'MYSQL_PASSWORD', ...password('password of MYSQL_USER') },
    ],
    volumes: [{ name: 'data', mountPath: '/var/lib/mysql', description: 'the data directory' }],
    port: 3306,
    httpPort: null,
    command: null,
    healthCheck: health(['CMD-SHELL', 'mysqladmin ping -h 127.0.0.1 -u root --password="$MYSQL_ROOT_PASSWORD" --silent'], 60),
    outputs: [
      {
        key: 'DATABASE_URL',
        template: `mysql://\${{MYSQL_USER}}:\${{MYSQL_PASSWORD}}@${HOST}:3306/\${{MYSQL_DATABASE}}`,
        description: 'connection URL for MYSQL_USER',
      },
      { key: 'MYSQL_HOST', template: HOST, description: 'host' },
      { key: 'MYSQL_PORT', template: '3306', description: 'port' },
    ],
  },
  {
    id: 'mariadb',
    name: 'MariaDB',
    description: 'MariaDB 11.4 LTS, with a database and an application user created on first start.',
    category: 'database',
    image: 'mariadb:11.4',
    documentationUrl: 'https://hub.docker.com/_/mariadb',
    defaultName: 'mariadb',
    env: [
      { key: 'MARIADB_ROOT_PASSWORD', ...password('password of the root account') },
      { key: 'MARIADB_DATABASE', value: 'app', description: 'database created on first start' },
      { key: 'MARIADB_USER', value: 'app', description: 'user created on first start, owner of MARIADB_DATABASE' },
      { key: 'MARIADB_PASSWORD', ...password('password of MARIADB_USER') },
    ],
    volumes: [{ name: 'data', mountPath: '/var/lib/mysql', description: 'the data directory' }],
    port: 3306,
    httpPort: null,
    command: null,
    // healthcheck.sh ships in the image (10.4+); it connects as the healthcheck user the entrypoint creates.
    healthCheck: health(['CMD', 'healthcheck.sh', '--connect', '--innodb_initialized'], 60),
    outputs: [
      {
        key: 'DATABASE_URL',
        template: `mysql://\${{MARIADB_USER}}:\${{MARIADB_PASSWORD}}@${HOST}:3306/\${{MARIADB_DATABASE}}`,
        description: 'connection URL for MARIADB_USER (MySQL protocol)',
      },
      { key: 'MYSQL_HOST', template: HOST, description: 'host' },
      { key: 'MYSQL_PORT', template: '3306', description: 'port' },
    ],
  },
  {
    id: 'redis',
    name: 'Redis',
    description: 'Redis 7.4 in-memory store with a password and append-only persistence.',
    category: 'cache',
    image: 'redis:7.4',
    documentationUrl: 'https://hub.docker.com/_/redis',
    defaultName: 'redis',
    env: [
      { key: 'REDIS_PASSWORD', ...password('password of the default user (requirepass)') },
      { key: 'REDISCLI_AUTH', value: '${{REDIS_PASSWORD}}', description: 'lets redis-cli in the container authenticate' },
    ],
    volumes: [{ name: 'data', mountPath: '/data', description: 'RDB snapshots and the append-only file' }],
    port: 6379,
    httpPort: null,
    // The image takes no password variable: pass it to redis-server through the image's own
    // entrypoint (which drops to the redis user) and a shell that expands it.
    command: `sh -c 'exec docker-entrypoint.sh redis-server --requirepass "$REDIS_PASSWORD" --appendonly yes'`,
    healthCheck: health(['CMD-SHELL', 'redis-cli ping | grep -q PONG'], 10),
    outputs: [
      { key: 'REDIS_URL', template: `redis://default:\${{REDIS_PASSWORD}}@${HOST}:6379`, description: 'connection URL' },
      { key: 'REDIS_HOST', template: HOST, description: 'host' },
      { key: 'REDIS_PORT', template: '6379', description: 'port' },
    ],
  },
  {
    id: 'mongodb',
    name: 'MongoDB',
    description: 'MongoDB 8.0 document database with a root user.',
    category: 'database',
    image: 'mongo:8.0',
    documentationUrl: 'https://hub.docker.com/_/mongo',
    defaultName: 'mongo',
    env: [
      { key: 'MONGO_INITDB_ROOT_USERNAME', value: 'root', description: 'root user created in the admin database on first start' },
      { key: 'MONGO_INITDB_ROOT_PASSWORD', ...password('password of the root user') },
      { key: 'MONGO_INITDB_DATABASE', value: 'app', description: 'database the init scripts run against' },
    ],
    volumes: [
      { name: 'data', mountPath: '/data/db', description: 'the database files' },
      { name: 'config', mountPath: '/data/configdb', description: 'config server data (declared as a volume by the image)' },
    ],
    port: 27017,
    httpPort: null,
    command: null,
    healthCheck: health(['CMD', 'mongosh', '--quiet', '--eval', "db.adminCommand('ping').ok"], 30),
    outputs: [
      {
        key: 'MONGO_URL',
        template: `mongodb://\${{MONGO_INITDB_ROOT_USERNAME}}:\${{MONGO_INITDB_ROOT_PASSWORD}}@${HOST}:27017/?authSource=admin`,
        description: 'connection string for the root user',
      },
      {
        key: 'DATABASE_URL',
        template: `mongodb://\${{MONGO_INITDB_ROOT_USERNAME}}:\${{MONGO_INITDB_ROOT_PASSWORD}}@${HOST}:27017/\${{MONGO_INITDB_DATABASE}}?authSource=admin`,
        description: 'connection string with the application database',
      },
    ],
  },
  {
    id: 'minio',
    name: 'MinIO',
    description: 'MinIO S3-compatible object storage; the S3 API is exposed over HTTP, the web console on port 9001.',
    category: 'storage',
    image: 'minio/minio:latest',
    documentationUrl: 'https://min.io/docs/minio/container/index.html',
    defaultName: 'minio',
    env: [
      { key: 'MINIO_ROOT_USER', generate: { kind: 'username', length: 20 }, description: 'root access key' },
      { key: 'MINIO_ROOT_PASSWORD', ...password('root secret key (at least 8 characters)', 40) },
    ],
    volumes: [{ name: 'data', mountPath: '/data', description: 'buckets and objects' }],
    port: 9000,
    httpPort: 9000,
    command: 'minio server /data --address :9000 --console-address :9001',
    healthCheck: health(['CMD', 'mc', 'ready', 'local'], 10),
    outputs: [
      { key: 'S3_ENDPOINT', template: `http://${HOST}:9000`, description: 'S3 API endpoint on the deployment network' },
      { key: 'S3_ACCESS_KEY_ID', template: '${{MINIO_ROOT_USER}}', description: 'access key' },
      { key: 'S3_SECRET_ACCESS_KEY', template: '${{MINIO_ROOT_PASSWORD}}', description: 'secret key' },
      { key: 'S3_REGION', template: 'us-east-1', description: 'region (MinIO default)' },
      { key: 'S3_FORCE_PATH_STYLE', template: 'true', description: 'MinIO serves buckets as paths, not subdomains' },
    ],
  },
  {
    id: 'rabbitmq',
    name: 'RabbitMQ',
    description: 'RabbitMQ 4 message broker with the management plugin (web UI and HTTP API on port 15672).',
    category: 'queue',
    image: 'rabbitmq:4-management',
    documentationUrl: 'https://hub.docker.com/_/rabbitmq',
    defaultName: 'rabbitmq',
    env: [
      { key: 'RABBITMQ_DEFAULT_USER', value: 'app', description: 'user created on first start' },
      { key: 'RABBITMQ_DEFAULT_PASS', ...password('password of RABBITMQ_DEFAULT_USER') },
      { key: 'RABBITMQ_DEFAULT_VHOST', value: '/', description: 'virtual host created on first start' },
      // RabbitMQ keeps its data under its node name, which defaults to the container's
      // hostname; a redeploy makes a new container, so pin it or the data seems lost.
      { key: 'RABBITMQ_NODENAME', value: 'rabbit@localhost', description: 'a fixed node name, so data survives a redeploy' },
    ],
    volumes: [{ name: 'data', mountPath: '/var/lib/rabbitmq', description: 'queues, messages and the Erlang cookie' }],
    port: 5672,
    httpPort: 15672,
    command: null,
    healthCheck: health(['CMD', 'rabbitmq-diagnostics', '-q', 'ping'], 60),
    outputs: [
      {
        key: 'AMQP_URL',
        template: `amqp://\${{RABBITMQ_DEFAULT_USER}}:\${{RABBITMQ_DEFAULT_PASS}}@${HOST}:5672`,
        description: 'AMQP 0-9-1 connection URL (default vhost)',
      },
      { key: 'RABBITMQ_URL', template: `amqp://\${{RABBITMQ_DEFAULT_USER}}:\${{RABBITMQ_DEFAULT_PASS}}@${HOST}:5672`, description: 'the same, by another common name' },
      { key: 'RABBITMQ_MANAGEMENT_URL', template: `http://${HOST}:15672`, description: 'management UI and HTTP API' },
    ],
  },
];
