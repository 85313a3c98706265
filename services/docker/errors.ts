// Typed errors for everything that goes wrong between Spunto and a Docker engine. Each
// keeps the engine's own message, because that is what a user needs to fix the problem.
import { DomainError } from '../errors.ts';

export class DockerError extends DomainError {
  readonly code: string = 'DOCKER_ERROR';
  constructor(
    readonly context: string,
    readonly engineMessage: string,
    readonly statusCode: number | null,
    options?: { cause?: unknown },
  ) {
    super(`${context}: ${engineMessage}`, options);
    this.name = new.target.name;
  }
}

export class ImageNotFoundError extends DockerError {
  override readonly code = 'IMAGE_NOT_FOUND';
}

export class RegistryUnreachableError extends DockerError {
  override readonly code = 'REGISTRY_UNREACHABLE';
}

export class RegistryAuthError extends DockerError {
  override readonly code = 'REGISTRY_UNAUTHORIZED';
}

export class EngineUnavailableError extends DockerError {
  override readonly code = 'ENGINE_UNAVAILABLE';
}

/** An `error` entry of a pull/push progress stream. */
export interface ProgressErrorEntry {
  error?: string;
  errorDetail?: { message?: string; code?: number };
}

// Socket-level failures: the engine never answered.
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'ETIMEDOUT']);
const NOT_FOUND = /manifest unknown|not found: manifest|name unknown|repository name not known|no such image|pull access denied|repository does not exist/i;
const UNAUTHORIZED = /unauthorized|authentication required|no basic auth credentials|denied: requested access/i;
const UNREACHABLE = /dial tcp|connection refused|no such host|i\/o timeout|tls handshake timeout|client\.timeout|no route to host|network is unreachable|server gave http response to https client|connection reset by peer|EOF$/i;

/**
 * Turns whatever dockerode (or a progress stream) produced into a typed error.
 * `image` marks a pull or create from that image, so a bare 404 means the image is missing.
 */
export function toDockerError(err: unknown, context: string, image?: string): DomainError {
  if (err instanceof DomainError) return err;
  const e = (err ?? {}) as { message?: unknown; statusCode?: unknown; code?: unknown; syscall?: unknown } & ProgressErrorEntry;
  const statusCode = typeof e.statusCode === 'number' ? e.statusCode : null;

  if (statusCode === null && typeof e.code === 'string' && e.syscall === 'connect' && UNAVAILABLE_CODES.has(e.code)) {
    return new EngineUnavailableError(context, `Docker engine unavailable (${e.code}): ${String(e.message)}`, null, { cause: err });
  }

  const message = engineMessage(e);
  if (UNAUTHORIZED.test(message) && !/pull access denied/i.test(message)) {
    return new RegistryAuthError(context, message, statusCode, { cause: err });
  }
  if (NOT_FOUND.test(message) || (image !== undefined && statusCode === 404)) {
    return new ImageNotFoundError(context, message, statusCode, { cause: err });
  }
  if (image !== undefined && UNREACHABLE.test(message)) {
    return new RegistryUnreachableError(context, message, statusCode, { cause: err });
  }
  return new DockerError(context, message, statusCode, { cause: err });
}

/** dockerode prefixes "(HTTP code 404) no such container - "; keep only the engine's words. */
function engineMessage(e: { message?: unknown } & ProgressErrorEntry): string {
  const raw = e.errorDetail?.message ?? e.error ?? (typeof e.message === 'string' ? e.message : String(e.message ?? 'unknown error'));
  return raw.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}

/** True for errors whose HTTP status (from the engine) is one of `codes`. */
export function hasStatus(err: unknown, ...codes: number[]): boolean {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && codes.includes(status);
}
