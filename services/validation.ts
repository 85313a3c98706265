// Checks for everything a user can put into a service or deployment. Each check
// returns the problems it found, so one request reports all of them at once.
import path from 'node:path';
import { parse as parseShell } from 'shell-quote';
import { parseImageRef } from './imageRef.ts';
import { ValidationError, type FieldIssue } from './errors.ts';

export const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const MAX_ENV_VALUE = 32 * 1024;

export class Issues {
  readonly list: FieldIssue[] = [];
  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
  throwIfAny(): void {
    if (this.list.length) throw new ValidationError(this.list);
  }
}

export function checkDnsLabel(issues: Issues, field: string, value: string): void {
  if (!DNS_LABEL.test(value)) {
    issues.add(field, 'must be a DNS label: 1-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen');
  }
}

export function checkImage(issues: Issues, field: string, value: string): void {
  if (!parseImageRef(value)) {
    issues.add(field, `"${value}" is not a valid image reference (expected [registry/]name[:tag][@digest], lowercase name)`);
  }
}

export function checkEnvVars(issues: Issues, field: string, vars: { key: string; value: string }[]): void {
  const seen = new Set<string>();
  vars.forEach(({ key, value }, i) => {
    if (!ENV_KEY.test(key)) issues.add(`${field}[${i}].key`, `"${key}" is not a valid variable name (letters, digits, _; not starting with a digit)`);
    else if (seen.has(key)) issues.add(`${field}[${i}].key`, `"${key}" is set more than once`);
    seen.add(key);
    if (value.includes('\0')) issues.add(`${field}[${i}].value`, 'must not contain NUL bytes');
    if (value.length > MAX_ENV_VALUE) issues.add(`${field}[${i}].value`, `must be at most ${MAX_ENV_VALUE} characters`);
  });
}

export function checkHttpPort(issues: Issues, field: string, port: number | null | undefined): void {
  if (port == null) return;
  if (!Number.isInteger(port) || port < 1 || port > 65535) issues.add(field, 'must be a port number from 1 to 65535');
}

function checkContainerPath(issues: Issues, field: string, value: string): void {
  if (!path.posix.isAbsolute(value)) issues.add(field, 'must be an absolute container path');
  else if (value.split('/').includes('..')) issues.add(field, 'must not contain ".."');
  else if (path.posix.normalize(value) === '/') issues.add(field, 'must not be the container root');
  else if (/[\0:,]/.test(value)) issues.add(field, 'must not contain NUL, ":" or ","');
}

function checkUniqueMounts(issues: Issues, field: string, paths: string[]): void {
  const seen = new Set<string>();
  paths.forEach((p, i) => {
    const norm = path.posix.normalize(p);
    if (seen.has(norm)) issues.add(`${field}[${i}].containerPath`, `"${p}" is mounted twice`);
    seen.add(norm);
  });
}

export function checkVolumes(issues: Issues, field: string, volumes: { name: string; mountPath: string }[]): void {
  const names = new Set<string>();
  volumes.forEach((v, i) => {
    if (!VOLUME_NAME.test(v.name)) issues.add(`${field}[${i}].name`, 'must be 1-63 letters, digits, "_", "." or "-", starting with a letter or digit');
    else if (names.has(v.name)) issues.add(`${field}[${i}].name`, `volume "${v.name}" is listed twice`);
    names.add(v.name);
    checkContainerPath(issues, `${field}[${i}].mountPath`, v.mountPath);
  });
}

/** True when `target` is `root` or lies below it (lexically, after normalising). */
export function isUnder(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export function checkFileBinds(
  issues: Issues,
  field: string,
  binds: { hostPath: string; containerPath: string }[],
  bindRoots: string[],
): void {
  binds.forEach((b, i) => {
    const at = `${field}[${i}]`;
    if (!path.isAbsolute(b.hostPath)) issues.add(`${at}.hostPath`, 'must be an absolute host path');
    else if (b.hostPath.split('/').includes('..')) issues.add(`${at}.hostPath`, 'must not contain ".."');
    else if (bindRoots.length === 0) issues.add(`${at}.hostPath`, 'host bind mounts are disabled on this platform (SPUNTO_BIND_ROOTS is not set)');
    else if (!bindRoots.some((root) => isUnder(root, path.resolve(b.hostPath)))) {
      issues.add(`${at}.hostPath`, `must be under one of the allowed roots: ${bindRoots.join(', ')}`);
    }
    checkContainerPath(issues, `${at}.containerPath`, b.containerPath);
  });
}

/** Shell words without shell operators: `a "b c"` → ['a', 'b c']. Null when not plain words. */
export function parseCommandWords(command: string): string[] | null {
  const words: string[] = [];
  for (const entry of parseShell(command, (name) => `$${name}`)) {
    if (typeof entry !== 'string') return null;
    words.push(entry);
  }
  return words;
}

export function checkCommand(issues: Issues, field: string, command: string | null | undefined): void {
  if (command == null) return;
  const words = parseCommandWords(command);
  if (!words) {
    issues.add(field, 'must be plain words: operators like |, &&, ;, > or globs need a shell, e.g. sh -c "a && b"');
  } else if (words.length === 0) {
    issues.add(field, 'must not be empty');
  }
}
