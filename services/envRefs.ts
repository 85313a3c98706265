// References between the services of a deployment, in env values and preset outputs:
//   ${{db.DATABASE_URL}}   a variable or preset output of service "db"
//   ${{PORT}}              one of the same service's own
//   ${{SPUNTO_HOSTNAME}}   a platform value (of the same service, or ${{db.SPUNTO_HOSTNAME}})
// Stored as written, checked when saved (unknown service or key, cycles), resolved when
// a container is created, and used to order deployDeployment.
import type { PrismaClient } from '../prisma/db.ts';

export const PLATFORM_KEYS = [
  'SPUNTO_HOSTNAME',
  'SPUNTO_SERVICE_NAME',
  'SPUNTO_SERVICE_ID',
  'SPUNTO_DEPLOYMENT_NAME',
  'SPUNTO_DEPLOYMENT_ID',
  'SPUNTO_HTTP_PORT',
] as const;

const REFERENCE = /\$\{\{\s*(?:([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.)?([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
const PURE_REFERENCES = /^(?:\$\{\{\s*(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)?[A-Za-z_][A-Za-z0-9_]*\s*\}\})+$/;

export interface Reference {
  /** null: the service that holds the value */
  service: string | null;
  key: string;
}

/** The references in a value; `malformed` when it has a `${{` that isn't one. */
export function parseReferences(value: string): { references: Reference[]; malformed: boolean } {
  const references = [...value.matchAll(REFERENCE)].map((m) => ({ service: m[1] ?? null, key: m[2] }));
  return { references, malformed: value.replace(REFERENCE, '').includes('${{') };
}

/** True for a value made only of references: it holds no secret of its own, so it can be shown. */
export function isPureReference(value: string): boolean {
  return PURE_REFERENCES.test(value);
}

export interface RefService {
  id: string;
  name: string;
  env: Map<string, string>;
  outputs: Map<string, string>;
  platform: Map<string, string>;
}

export class UnresolvableReference extends Error {}

export function platformValues(service: { id: string; name: string; httpPort: number | null }, deployment: { id: string; name: string }): Map<string, string> {
  const values = new Map<string, string>([
    ['SPUNTO_HOSTNAME', service.name],
    ['SPUNTO_SERVICE_NAME', service.name],
    ['SPUNTO_SERVICE_ID', service.id],
    ['SPUNTO_DEPLOYMENT_NAME', deployment.name],
    ['SPUNTO_DEPLOYMENT_ID', deployment.id],
  ]);
  if (service.httpPort != null) values.set('SPUNTO_HTTP_PORT', String(service.httpPort));
  return values;
}

/**
 * Resolves values against one deployment's services. A key of a service is looked up in
 * its env, then its preset outputs, then the platform values.
 */
export class ReferenceGraph {
  private readonly byName: Map<string, RefService>;
  private readonly memo = new Map<string, string>();

  constructor(services: RefService[]) {
    this.byName = new Map(services.map((s) => [s.name, s]));
  }

  service(name: string): RefService | undefined {
    return this.byName.get(name);
  }

  /** The container value of `key` in `service`'s env. Throws UnresolvableReference with a readable message. */
  resolveEnv(service: RefService, key: string): string {
    return this.expand(service, service.env.get(key)!, [`${service.name}.${key}`]);
  }

  resolveOutput(service: RefService, key: string): string {
    return this.expand(service, service.outputs.get(key)!, [`${service.name}.${key}`]);
  }

  private lookup(service: RefService, key: string, stack: string[]): string {
    const id = `${service.name}.${key}`;
    const known = this.memo.get(id);
    if (known !== undefined) return known;
    if (stack.includes(id)) throw new UnresolvableReference(`reference cycle: ${[...stack.slice(stack.indexOf(id)), id].join(' → ')}`);
    const template = service.env.get(key) ?? service.outputs.get(key);
    let value: string;
    if (template !== undefined) value = this.expand(service, template, [...stack, id]);
    else if (service.platform.has(key)) value = service.platform.get(key)!;
    else throw new UnresolvableReference(`service "${service.name}" has no variable or output named ${key}`);
    this.memo.set(id, value);
    return value;
  }

  private expand(service: RefService, template: string, stack: string[]): string {
    if (parseReferences(template).malformed) {
      throw new UnresolvableReference('has a malformed reference: write ${{service.KEY}} or ${{KEY}}');
    }
    return template.replace(REFERENCE, (_match, name: string | undefined, key: string) => {
      const target = name === undefined ? service : this.byName.get(name);
      if (!target) throw new UnresolvableReference(`references service "${name}", which is not in this deployment`);
      return this.lookup(target, key, stack);
    });
  }

  /** Names of the other services whose values `service`'s env needs, directly or not. */
  dependencies(service: RefService): Set<string> {
    const found = new Set<string>();
    const seen = new Set<string>();
    const visit = (owner: RefService, template: string) => {
      for (const ref of parseReferences(template).references) {
        const target = ref.service === null ? owner : this.byName.get(ref.service);
        if (!target) continue;
        const id = `${target.name}.${ref.key}`;
        if (seen.has(id)) continue;
        seen.add(id);
        if (target !== service) found.add(target.name);
        const next = target.env.get(ref.key) ?? target.outputs.get(ref.key);
        if (next !== undefined) visit(target, next);
      }
    };
    for (const template of service.env.values()) visit(service, template);
    return found;
  }
}

/** What a service will look like after a save, for checking. */
export interface Candidate {
  /** null for a service being created */
  id: string | null;
  deploymentId: string;
  name: string;
  previousName: string | null;
  httpPort: number | null;
  env: { key: string; value: string }[];
  outputs: Record<string, string>;
}

export interface ReferenceProblem {
  /** the candidate's own variable or output with the problem; null for another service's */
  key: string | null;
  kind: 'env' | 'output' | 'dependent';
  message: string;
}

type StoredService = { id: string; name: string; httpPort: number | null; envVars: unknown; presetOutputs: unknown };

export class EnvReferences {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly open: (service: { envVars: unknown }) => { key: string; value: string }[],
  ) {}

  private async load(deploymentId: string) {
    return this.prisma.deployment.findUniqueOrThrow({
      where: { id: deploymentId },
      select: {
        id: true,
        name: true,
        services: { orderBy: { createdAt: 'asc' }, select: { id: true, name: true, httpPort: true, envVars: true, presetOutputs: true } },
      },
    });
  }

  private toRef(service: StoredService, deployment: { id: string; name: string }): RefService {
    return {
      id: service.id,
      name: service.name,
      env: new Map(this.open(service).map((v) => [v.key, v.value])),
      outputs: new Map(Object.entries((service.presetOutputs as Record<string, string> | null) ?? {})),
      platform: platformValues(service, deployment),
    };
  }

  /**
   * The problems this save would cause: in the candidate's own values, and in other
   * services that reference it (a renamed service, a removed key).
   */
  async check(candidate: Candidate): Promise<ReferenceProblem[]> {
    const mentions = (v: string) => v.includes('${{');
    const hasOwnReferences = candidate.env.some((v) => mentions(v.value)) || Object.values(candidate.outputs).some(mentions);
    if (candidate.id === null && !hasOwnReferences) return [];
    const deployment = await this.load(candidate.deploymentId);
    const self: RefService = {
      id: candidate.id ?? 'new',
      name: candidate.name,
      env: new Map(candidate.env.map((v) => [v.key, v.value])),
      outputs: new Map(Object.entries(candidate.outputs)),
      platform: platformValues({ id: candidate.id ?? 'new', name: candidate.name, httpPort: candidate.httpPort }, deployment),
    };
    const others = deployment.services.filter((s) => s.id !== candidate.id).map((s) => this.toRef(s, deployment));
    const graph = new ReferenceGraph([...others, self]);
    const problems: ReferenceProblem[] = [];
    const attempt = (kind: ReferenceProblem['kind'], key: string | null, fn: () => unknown, prefix = '') => {
      try {
        fn();
      } catch (error) {
        if (!(error instanceof UnresolvableReference)) throw error;
        problems.push({ kind, key, message: prefix + error.message });
      }
    };
    for (const key of self.env.keys()) attempt('env', key, () => graph.resolveEnv(self, key));
    for (const key of self.outputs.keys()) attempt('output', key, () => graph.resolveOutput(self, key));
    if (problems.length) return problems;
    // Services that referred to this one before the change, by its old or new name.
    const names = new Set([candidate.name, candidate.previousName].filter((n): n is string => n !== null));
    for (const other of others) {
      const templates = [...other.env.entries()].map(([key, value]) => ({ key, value, output: false }));
      templates.push(...[...other.outputs.entries()].map(([key, value]) => ({ key, value, output: true })));
      for (const t of templates) {
        if (!parseReferences(t.value).references.some((r) => r.service !== null && names.has(r.service))) continue;
        const resolve = () => (t.output ? graph.resolveOutput(other, t.key) : graph.resolveEnv(other, t.key));
        attempt('dependent', null, resolve, `service "${other.name}" depends on it (${t.key}): `);
      }
    }
    return problems;
  }

  /** The service's env as its container gets it; `env` is the plain env being deployed. */
  async resolve(
    service: { id: string; deploymentId: string; name: string; httpPort: number | null },
    env: { key: string; value: string }[],
  ): Promise<{ resolved: { key: string; value: string }[]; problems: string[] }> {
    if (!env.some((v) => v.value.includes('${{'))) return { resolved: env, problems: [] };
    const deployment = await this.load(service.deploymentId);
    const self: RefService = {
      ...this.toRef({ ...service, envVars: [], presetOutputs: deployment.services.find((s) => s.id === service.id)?.presetOutputs ?? null }, deployment),
      env: new Map(env.map((v) => [v.key, v.value])),
    };
    const graph = new ReferenceGraph([...deployment.services.filter((s) => s.id !== service.id).map((s) => this.toRef(s, deployment)), self]);
    const problems: string[] = [];
    const resolved = env.map(({ key }) => {
      try {
        return { key, value: graph.resolveEnv(self, key) };
      } catch (error) {
        if (!(error instanceof UnresolvableReference)) throw error;
        problems.push(`${key}: ${error.message}`);
        return { key, value: '' };
      }
    });
    return { resolved, problems };
  }

  /** The deployment's service ids, each after the services its env references; ties in creation order. */
  async deployOrder(deploymentId: string): Promise<string[]> {
    const deployment = await this.load(deploymentId);
    const refs = deployment.services.map((s) => this.toRef(s, deployment));
    const graph = new ReferenceGraph(refs);
    const needs = new Map(refs.map((s) => [s.name, graph.dependencies(s)]));
    const order: string[] = [];
    const placed = new Set<string>();
    while (order.length < refs.length) {
      const ready = refs.find((s) => !placed.has(s.name) && [...needs.get(s.name)!].every((n) => placed.has(n)));
      // A cycle can't be saved; should one exist anyway, fall back to creation order.
      const next = ready ?? refs.find((s) => !placed.has(s.name))!;
      placed.add(next.name);
      order.push(next.id);
    }
    return order;
  }
}
