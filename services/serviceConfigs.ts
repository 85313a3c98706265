// Services as configuration: what to run and how. Env values are sealed at rest.
import type { PrismaClient } from '../prisma/db.ts';
import type { Service } from '../prisma/generated/client/client.ts';
import { ConflictError, NotFoundError } from './errors.ts';
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
}

export interface UpdateServiceInput extends Partial<Omit<CreateServiceInput, 'deploymentId' | 'name' | 'image'>> {
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
  constructor(
    private readonly prisma: PrismaClient,
    private readonly secrets: SecretBox,
    private readonly bindRoots: string[],
  ) {}

  async get(id: string): Promise<Service> {
    const service = await this.prisma.service.findUnique({ where: { id } });
    if (!service) throw new NotFoundError('Service', id);
    return service;
  }

  /** Plain env values: only for building containers and for admins who ask. */
  envVars(service: { envVars: unknown }): EnvVar[] {
    return (service.envVars as unknown as EnvVar[]).map(({ key, value }) => ({ key, value: this.secrets.open(value) }));
  }

  maskedEnvVars(service: { envVars: unknown }): EnvVar[] {
    return (service.envVars as unknown as EnvVar[]).map(({ key }) => ({ key, value: MASK }));
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
