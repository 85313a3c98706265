// What a service container looks like to the Engine, as a pure function of the service,
// plus the use-time check of host bind mounts (which has to touch the filesystem).
import fs from 'node:fs/promises';
import path from 'node:path';
import type Dockerode from 'dockerode';
import { ValidationError } from '../errors.ts';
import { Issues, isUnder, parseCommandWords } from '../validation.ts';
import { labelsFor, networkName, serviceContainerName, volumeName } from './names.ts';

export interface FileBind {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
}

export interface ServiceContainerInput {
  deploymentId: string;
  serviceId: string;
  serviceName: string;
  /** The exact reference to run, ideally pinned: `repo@sha256:…`. */
  image: string;
  env: { key: string; value: string }[];
  httpPort?: number | null;
  volumes: { name: string; mountPath: string }[];
  fileBinds: FileBind[];
  command?: string | null;
  bindRoots: string[];
  extraLabels?: Record<string, string>;
  /** defaults to the service's canonical name; a deploy creates the next one beside it */
  name?: string;
}

/**
 * A command as argv for the Engine, never through a shell: the first word replaces the
 * image ENTRYPOINT and the rest become CMD (DESIGN.md: "command overrides the container
 * entrypoint"). Operators need an explicit shell: `sh -c "a && b"`.
 */
export function commandArgv(command: string, field = 'command'): { Entrypoint: string[]; Cmd: string[] } {
  const words = parseCommandWords(command);
  if (!words) throw ValidationError.single(field, 'must be plain words: operators like |, &&, ; or > need a shell, e.g. sh -c "a && b"');
  if (words.length === 0) throw ValidationError.single(field, 'must not be empty');
  return { Entrypoint: [words[0]], Cmd: words.slice(1) };
}

export function envList(env: { key: string; value: string }[]): string[] {
  return env.map(({ key, value }) => `${key}=${value}`);
}

export function buildServiceContainerSpec(input: ServiceContainerInput): Dockerode.ContainerCreateOptions {
  const network = networkName(input.deploymentId);
  const binds = [
    ...input.volumes.map((v) => `${volumeName(input.deploymentId, v.name)}:${v.mountPath}`),
    ...input.fileBinds.map((b, i) => fileBindString(b, i, input.bindRoots)),
  ];
  const port = input.httpPort ? `${input.httpPort}/tcp` : null;
  return {
    name: input.name ?? serviceContainerName(input.deploymentId, input.serviceId),
    Image: input.image,
    Env: envList(input.env),
    // Ours last, so extra labels can never forge ownership.
    Labels: { ...input.extraLabels, ...labelsFor({ deploymentId: input.deploymentId, serviceId: input.serviceId, role: 'service' }) },
    ...(input.command != null ? commandArgv(input.command) : {}),
    ...(port ? { ExposedPorts: { [port]: {} } } : {}),
    HostConfig: {
      NetworkMode: network,
      RestartPolicy: { Name: 'unless-stopped' },
      Binds: binds,
      // Empty HostPort = an ephemeral port, on loopback only: the edge proxy is the way in.
      ...(port ? { PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: '' }] } } : {}),
    },
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [input.serviceName] } } },
  };
}

// The Binds syntax is `src:dst[:ro]`, so a ":" or "," in a path would change its meaning.
function fileBindString(b: FileBind, i: number, bindRoots: string[]): string {
  const field = `fileBinds[${i}]`;
  if (!path.isAbsolute(b.hostPath) || /[\0:,]/.test(b.hostPath)) {
    throw ValidationError.single(`${field}.hostPath`, 'must be an absolute path without NUL, ":" or ","');
  }
  if (!path.posix.isAbsolute(b.containerPath) || /[\0:,]/.test(b.containerPath)) {
    throw ValidationError.single(`${field}.containerPath`, 'must be an absolute path without NUL, ":" or ","');
  }
  if (!bindRoots.some((root) => isUnder(root, path.resolve(b.hostPath)))) {
    throw ValidationError.single(`${field}.hostPath`, `must be under one of the allowed roots: ${bindRoots.join(', ') || '(none configured)'}`);
  }
  return `${b.hostPath}:${b.containerPath}${b.readOnly ? ':ro' : ''}`;
}

/**
 * Resolves every host path to its real path and checks it against the real paths of the
 * allowed roots. Done at container-creation time: a symlink created after validation
 * must not let a bind mount escape its root.
 */
export async function resolveFileBinds(binds: FileBind[], bindRoots: string[]): Promise<FileBind[]> {
  if (binds.length === 0) return [];
  const issues = new Issues();
  const roots = await realRoots(bindRoots);
  const resolved = await Promise.all(
    binds.map(async (b, i) => {
      const field = `fileBinds[${i}].hostPath`;
      if (!path.isAbsolute(b.hostPath)) {
        issues.add(field, 'must be an absolute host path');
        return b;
      }
      let real: string;
      try {
        real = await fs.realpath(b.hostPath);
      } catch {
        issues.add(field, `${b.hostPath} does not exist on the host`);
        return b;
      }
      if (!roots.some((root) => isUnder(root, real))) {
        issues.add(field, `${b.hostPath} resolves to ${real}, outside the allowed roots (${bindRoots.join(', ') || 'none configured'})`);
      }
      return { ...b, hostPath: real };
    }),
  );
  issues.throwIfAny();
  return resolved;
}

/** The real paths of the allowed roots that exist (a root may itself be a symlink). */
export async function realRoots(bindRoots: string[]): Promise<string[]> {
  const roots = await Promise.all(bindRoots.map((root) => fs.realpath(root).catch(() => null)));
  return roots.filter((root): root is string => root !== null);
}
