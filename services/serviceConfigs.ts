// Services as configuration: what to run and how. Env values are sealed at rest.
import type { PrismaClient } from '../prisma/db.ts';
import type { Service } from '../prisma/generated/client/client.ts';
import type { ConfigSnapshot } from './deployRuns.ts';
import { EnvReferences, isPureReference, type ReferenceProblem } from './envRefs.ts';
import { ConflictError, NotFoundError, ValidationError } from './errors.ts';
import { isUniqueViolation } from './prismaErrors.ts';
import type { SecretBox } from './secrets.ts';
import {
  Issues,
  checkCommand,
  checkDnsLabel,
  checkEnvVars,
  checkFileBinds,
  checkHttpPort,
  checkImage,
  checkVolumes,
} from './validation.ts';

export interface EnvVar {
  key: string;
  value: string;
}
export interface VolumeMount {
  name: string;
  mountPath: string;
}
export interface FileBind {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
}

export interface CreateServiceInput {
  deploymentId: string;
  name: string;
  image: string;
  envVars?: EnvVar[] | null;
  httpPort?: number | null;
  volumes?: VolumeMount[] | null;
  fileBinds?: (Omit<FileBind, 'readOnly'> & { readOnly?: boolean | null })[] | null;
  command?: string | null;
  preDeployCommand?: string | null;
  /** set by the presets marketplace: the catalogue entry and its outputs ({ KEY: template }) */
  presetId?: string | null;
  presetOutputs?: Record<string, string> | null;
}

export interface UpdateServiceInput extends Partial<Omit<CreateServiceInput, 'deploymentId' | 'name' | 'image' | 'presetId' | 'presetOutputs'>> {
  id: string;
  name?: string | null;
  image?: string | null;
  /** merged into the current variables by key */
  setEnvVars?: EnvVar[] | null;
  /** keys removed from the current variables */
  unsetEnvVars?: string[] | null;
}

export const MASK = '••••••••';

export class ServiceConfigService {
  private readonly refs: EnvReferences;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly secrets: SecretBox,
    private readonly bindRoots: string[],
  ) {
    this.refs = new EnvReferences(prisma, (service) => this.envVars(service));
  }

  async get(id: string): Promise<Service> {
    const service = await this.prisma.service.findUnique({ where: { id } });
    if (!service) throw new NotFoundError('Service', id);
    return service;
  }

  /** Plain env values: only for building containers and for admins who ask. */
  envVars(service: { envVars: unknown }): EnvVar[] {
    return (service.envVars as unknown as EnvVar[]).map(({ key, value }) => ({ key, value: this.secrets.open(value) }));
  }

  /** Values masked, except those made only of references (${{db.DATABASE_URL}}): they hold no secret. */
  maskedEnvVars(service: { envVars: unknown }): EnvVar[] {
    return (service.envVars as unknown as EnvVar[]).map(({ key, value }) => {
      const plain = this.openOrNull(value);
      return { key, value: plain !== null && isPureReference(plain) ? plain : MASK };
    });
  }

  // Masking must work even for a value sealed under another key.
  private openOrNull(sealed: string): string | null {
    try {
      return this.secrets.open(sealed);
    } catch {
      return null;
    }
  }

  /** The env a container of the service gets: references to other services resolved. */
  async resolvedEnvVars(service: Pick<Service, 'id' | 'deploymentId' | 'name'>, snapshot: ConfigSnapshot): Promise<EnvVar[]> {
    const { resolved, problems } = await this.refs.resolve({ ...service, httpPort: snapshot.httpPort }, this.envVars(snapshot));
    if (problems.length) throw new ValidationError(problems.map((message) => ({ path: 'envVars', message })));
    return resolved;
  }

  /** The deployment's service ids, each after the services it references. */
  deployOrder(deploymentId: string): Promise<string[]> {
    return this.refs.deployOrder(deploymentId);
  }

  /** Reference problems as issues, pointing at the input field that holds the variable. */
  private referenceIssues(issues: Issues, problems: ReferenceProblem[], fields: [string, EnvVar[] | null | undefined][], dependentPath = 'envVars'): void {
    for (const problem of problems) {
      if (problem.kind !== 'env') {
        issues.add(problem.kind === 'output' ? `presetOutputs.${problem.key}` : dependentPath, problem.message);
        continue;
      }
      const field = problem.key === null ? undefined : fields.find(([, vars]) => vars?.some((v) => v.key === problem.key));
      const index = field?.[1]?.findIndex((v) => v.key === problem.key) ?? -1;
      issues.add(field ? `${field[0]}[${index}].value` : 'envVars', problem.key && !field ? `${problem.key}: ${problem.message}` : problem.message);
    }
  }

  private seal(vars: EnvVar[]): EnvVar[] {
    return vars.map(({ key, value }) => ({ key, value: this.secrets.seal(value) }));
  }

  private check(issues: Issues, input: Omit<UpdateServiceInput, 'id'>): void {
    if (input.name != null) checkDnsLabel(issues, 'name', input.name);
    if (input.image != null) checkImage(issues, 'image', input.image);
    if (input.envVars) checkEnvVars(issues, 'envVars', input.envVars);
    checkHttpPort(issues, 'httpPort', input.httpPort);
    if (input.volumes) checkVolumes(issues, 'volumes', input.volumes);
    if (input.fileBinds) checkFileBinds(issues, 'fileBinds', input.fileBinds, this.bindRoots);
    checkCommand(issues, 'command', input.command);
    checkCommand(issues, 'preDeployCommand', input.preDeployCommand);
  }

  async create(input: CreateServiceInput): Promise<Service> {
    const issues = new Issues();
    this.check(issues, input);
    issues.throwIfAny();
    const deployment = await this.prisma.deployment.findUnique({ where: { id: input.deploymentId } });
    if (!deployment) throw new NotFoundError('Deployment', input.deploymentId);
    const problems = await this.refs.check({
      id: null,
      deploymentId: input.deploymentId,
      name: input.name,
      previousName: null,
      httpPort: input.httpPort ?? null,
      env: input.envVars ?? [],
      outputs: input.presetOutputs ?? {},
    });
    this.referenceIssues(issues, problems, [['envVars', input.envVars]]);
    issues.throwIfAny();
    try {
      return await this.prisma.service.create({
        data: {
          deploymentId: input.deploymentId,
          name: input.name,
          image: input.image,
          envVars: this.seal(input.envVars ?? []) as object[],
          httpPort: input.httpPort ?? null,
          volumes: (input.volumes ?? []) as object[],
          fileBinds: (input.fileBinds ?? []).map((b) => ({ ...b, readOnly: b.readOnly ?? false })),
          command: input.command ?? null,
          preDeployCommand: input.preDeployCommand ?? null,
          presetId: input.presetId ?? null,
          ...(input.presetOutputs && { presetOutputs: input.presetOutputs }),
        },
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`deployment already has a service named "${input.name}"`);
      throw error;
    }
  }

  async update(input: UpdateServiceInput): Promise<Service> {
    const current = await this.get(input.id);
    let envVars: EnvVar[] | undefined;
    if (input.envVars || input.setEnvVars || input.unsetEnvVars) {
      const merged = new Map((input.envVars ?? this.envVars(current)).map((v) => [v.key, v.value]));
      for (const { key, value } of input.setEnvVars ?? []) merged.set(key, value);
      for (const key of input.unsetEnvVars ?? []) merged.delete(key);
      envVars = [...merged].map(([key, value]) => ({ key, value }));
    }
    const issues = new Issues();
    this.check(issues, { ...input, envVars: undefined });
    if (input.envVars) checkEnvVars(issues, 'envVars', input.envVars);
    if (input.setEnvVars) checkEnvVars(issues, 'setEnvVars', input.setEnvVars);
    if (input.name === null) issues.add('name', 'cannot be cleared');
    if (input.image === null) issues.add('image', 'cannot be cleared');
    issues.throwIfAny();
    if (envVars || (input.name != null && input.name !== current.name) || input.httpPort !== undefined) {
      const problems = await this.refs.check({
        id: current.id,
        deploymentId: current.deploymentId,
        name: input.name ?? current.name,
        previousName: current.name,
        httpPort: input.httpPort !== undefined ? input.httpPort : current.httpPort,
        env: envVars ?? this.envVars(current),
        outputs: (current.presetOutputs as Record<string, string> | null) ?? {},
      });
      const renamed = input.name != null && input.name !== current.name;
      this.referenceIssues(issues, problems, [['setEnvVars', input.setEnvVars], ['envVars', input.envVars]], renamed ? 'name' : 'envVars');
      issues.throwIfAny();
    }
    try {
      return await this.prisma.service.update({
        where: { id: input.id },
        data: {
          ...(input.name != null && { name: input.name }),
          ...(input.image != null && { image: input.image }),
          ...(envVars && { envVars: this.seal(envVars) as object[] }),
          ...(input.httpPort !== undefined && { httpPort: input.httpPort }),
          ...(input.volumes != null && { volumes: input.volumes as object[] }),
          ...(input.fileBinds != null && {
            fileBinds: input.fileBinds.map((b) => ({ ...b, readOnly: b.readOnly ?? false })),
          }),
          ...(input.command !== undefined && { command: input.command }),
          ...(input.preDeployCommand !== undefined && { preDeployCommand: input.preDeployCommand }),
        },
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`deployment already has a service named "${input.name}"`);
      throw error;
    }
  }
}
