import type { EnvVar as EnvVarShape, FileBind as FileBindShape, VolumeMount } from '../../services/serviceConfigs.ts';
import { ForbiddenError } from '../../services/errors.ts';
import { builder } from '../builder.ts';

export const ServiceStatus = builder.enumType('ServiceStatus', {
  values: ['CREATED', 'PULLING', 'RUNNING_HOOK', 'STARTING', 'RUNNING', 'STOPPING', 'STOPPED', 'CRASHED', 'ERROR'] as const,
});

const EnvVar = builder.objectRef<EnvVarShape>('EnvVar').implement({
  description: 'An environment variable. Values are secrets: masked unless an admin reveals them.',
  fields: (t) => ({ key: t.exposeString('key'), value: t.exposeString('value') }),
});

const ServiceOutput = builder.objectRef<{ key: string; template: string }>('ServiceOutput').implement({
  description: 'A value other services reference as ${{<service>.<key>}} (from the preset the service was added from).',
  fields: (t) => ({ key: t.exposeString('key'), template: t.exposeString('template') }),
});

const Volume = builder.objectRef<VolumeMount>('VolumeMount').implement({
  fields: (t) => ({ name: t.exposeString('name'), mountPath: t.exposeString('mountPath') }),
});

const FileBind = builder.objectRef<FileBindShape>('FileBind').implement({
  fields: (t) => ({
    hostPath: t.exposeString('hostPath'),
    containerPath: t.exposeString('containerPath'),
    readOnly: t.exposeBoolean('readOnly'),
  }),
});

export const ServiceRef = builder.prismaObject('Service', {
  description: 'One container of a deployment, reachable by its name from the other services.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    image: t.exposeString('image'),
    httpPort: t.exposeInt('httpPort', { nullable: true }),
    command: t.exposeString('command', { nullable: true }),
    preDeployCommand: t.exposeString('preDeployCommand', { nullable: true }),
    status: t.expose('status', { type: ServiceStatus }),
    statusReason: t.exposeString('statusReason', { nullable: true }),
    statusChangedAt: t.expose('statusChangedAt', { type: 'DateTime' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    deployment: t.relation('deployment'),
    hostname: t.exposeString('name', { description: 'how the other services of the deployment reach this one' }),
    containerId: t.exposeString('containerId', { nullable: true }),
    lastExitCode: t.exposeInt('lastExitCode', { nullable: true }),
    deployRuns: t.relation('deployRuns', {
      description: 'newest first',
      args: { first: t.arg.int({ defaultValue: 20 }) },
      query: ({ first }) => ({ orderBy: { createdAt: 'desc' }, take: Math.min(Math.max(first ?? 20, 1), 100) }),
    }),
    transitions: t.relation('transitions', {
      description: 'state changes, newest first',
      args: { first: t.arg.int({ defaultValue: 50 }) },
      query: ({ first }) => ({ orderBy: { createdAt: 'desc' }, take: Math.min(Math.max(first ?? 50, 1), 500) }),
    }),
    customDomain: t.relation('customDomain', { nullable: true }),
    envVars: t.field({
      type: [EnvVar],
      args: { reveal: t.arg.boolean({ defaultValue: false, description: 'admins only: plain values' }) },
      select: { envVars: true },
      resolve: (service, { reveal }, ctx) => {
        if (!reveal) return ctx.services.serviceConfigs.maskedEnvVars(service);
        if (!ctx.principal?.scopes.has('ADMIN')) throw new ForbiddenError('revealing env values needs the ADMIN scope');
        return ctx.services.serviceConfigs.envVars(service);
      },
    }),
    volumes: t.field({
      type: [Volume],
      select: { volumes: true },
      resolve: (service) => service.volumes as unknown as VolumeMount[],
    }),
    fileBinds: t.field({
      type: [FileBind],
      select: { fileBinds: true },
      resolve: (service) => service.fileBinds as unknown as FileBindShape[],
    }),
    jobs: t.relation('jobs', { description: 'by name', query: { orderBy: { name: 'asc' } } }),
    presetId: t.exposeString('presetId', { nullable: true, description: 'the presets-marketplace entry it was added from' }),
    outputs: t.field({
      type: [ServiceOutput],
      select: { presetOutputs: true },
      description: 'by key',
      resolve: (service) =>
        Object.entries((service.presetOutputs as Record<string, string> | null) ?? {})
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([key, template]) => ({ key, template })),
    }),
  }),
});

export const EnvVarInput = builder.inputType('EnvVarInput', {
  fields: (t) => ({ key: t.string({ required: true }), value: t.string({ required: true }) }),
});
export const VolumeInput = builder.inputType('VolumeMountInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: 'namespaced per deployment in Docker' }),
    mountPath: t.string({ required: true }),
  }),
});
const FileBindInput = builder.inputType('FileBindInput', {
  fields: (t) => ({
    hostPath: t.string({ required: true, description: 'must lie under SPUNTO_BIND_ROOTS' }),
    containerPath: t.string({ required: true }),
    readOnly: t.boolean({ defaultValue: false }),
  }),
});

export const CreateServiceInput = builder.inputType('CreateServiceInput', {
  fields: (t) => ({
    deploymentId: t.id({ required: true }),
    name: t.string({ required: true, description: 'DNS label, unique in the deployment; the hostname other services use' }),
    image: t.string({ required: true, description: '[registry/]name[:tag][@digest]' }),
    envVars: t.field({ type: [EnvVarInput] }),
    httpPort: t.int({ description: 'container port the edge proxy forwards to' }),
    volumes: t.field({ type: [VolumeInput] }),
    fileBinds: t.field({ type: [FileBindInput] }),
    command: t.string({ description: 'overrides the entrypoint; shell words, run as argv without a shell' }),
    preDeployCommand: t.string({ description: 'run in a temporary container before each deploy' }),
  }),
});

export const UpdateServiceInput = builder.inputType('UpdateServiceInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string(),
    image: t.string(),
    envVars: t.field({ type: [EnvVarInput], description: 'replaces every variable' }),
    setEnvVars: t.field({ type: [EnvVarInput], description: 'adds or overwrites these keys' }),
    unsetEnvVars: t.stringList({ description: 'removes these keys' }),
    httpPort: t.int({ description: 'null removes it' }),
    volumes: t.field({ type: [VolumeInput] }),
    fileBinds: t.field({ type: [FileBindInput] }),
    command: t.string({ description: 'null restores the image entrypoint' }),
    preDeployCommand: t.string({ description: 'null removes the hook' }),
  }),
});
