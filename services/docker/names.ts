// Deterministic, prefixed names and the labels that mark what Spunto owns. Ownership is
// always decided by labels; names only keep objects unique and readable in `docker ps`.

export const LABELS = {
  deployment: 'spunto.deployment',
  service: 'spunto.service',
  role: 'spunto.role',
  managed: 'spunto.managed',
} as const;

export type ObjectRole = 'network' | 'service' | 'hook' | 'volume' | 'job';

export function networkName(deploymentId: string): string {
  return `mp-dep-${deploymentId}`;
}

export function serviceContainerName(_deploymentId: string, serviceId: string): string {
  // Service ids are globally unique, so the deployment id is not needed for uniqueness;
  // it stays in the signature so callers never have to know that.
  return `mp-svc-${serviceId}`;
}

export function hookContainerName(id: string): string {
  return `mp-hook-${id}`;
}

export function volumeName(deploymentId: string, name: string): string {
  return `mp-vol-${deploymentId}-${name}`;
}

export function labelsFor(owner: { deploymentId: string; serviceId?: string | null; role: ObjectRole }): Record<string, string> {
  const labels: Record<string, string> = {
    [LABELS.managed]: 'true',
    [LABELS.deployment]: owner.deploymentId,
    [LABELS.role]: owner.role,
  };
  if (owner.serviceId) labels[LABELS.service] = owner.serviceId;
  return labels;
}

export interface OwnerFilter {
  deploymentId?: string;
  serviceId?: string;
  role?: string;
}

/** `label=` filters for the Engine's list endpoints; always scoped to managed objects. */
export function labelFilters(filter: OwnerFilter): string[] {
  const labels = [`${LABELS.managed}=true`];
  if (filter.deploymentId) labels.push(`${LABELS.deployment}=${filter.deploymentId}`);
  if (filter.serviceId) labels.push(`${LABELS.service}=${filter.serviceId}`);
  if (filter.role) labels.push(`${LABELS.role}=${filter.role}`);
  return labels;
}
