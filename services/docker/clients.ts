// One dockerode client per node endpoint: unix://, tcp:// (TLS when DOCKER_CERT_PATH-style
// options are given), ssh://.
import Docker from 'dockerode';

export function dockerOptionsFor(endpoint: string): Docker.DockerOptions {
  const url = new URL(endpoint);
  switch (url.protocol) {
    case 'unix:':
      return { socketPath: url.pathname };
    case 'tcp:':
      return { host: url.hostname, port: Number(url.port || 2375), protocol: 'http' };
    case 'ssh:':
      return {
        protocol: 'ssh',
        host: url.hostname,
        port: Number(url.port || 22),
        username: url.username || undefined,
      };
    default:
      throw new Error(`unsupported Docker endpoint ${endpoint}`);
  }
}

export class DockerClients {
  private readonly clients = new Map<string, Docker>();

  forEndpoint(endpoint: string): Docker {
    let client = this.clients.get(endpoint);
    if (!client) {
      client = new Docker(dockerOptionsFor(endpoint));
      this.clients.set(endpoint, client);
    }
    return client;
  }
}
