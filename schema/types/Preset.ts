import type { PresetDefinition, PresetEnvVar, PresetHealthCheck, PresetOutput } from '../../services/presets/catalog.ts';
import { builder } from '../builder.ts';
import { EnvVarInput, VolumeInput } from './Service.ts';

const PresetEnvVarRef = builder.objectRef<PresetEnvVar>('PresetEnvVar').implement({
  fields: (t) => ({
    key: t.exposeString('key'),
    value: t.string({ nullable: true, description: 'the default; null when the value is generated', resolve: (v) => v.value ?? null }),
    generated: t.string({
      nullable: true,
      description: 'password, key or username: a fresh random value for every service added',
      resolve: (v) => v.generate?.kind ?? null,
    }),
    description: t.exposeString('description'),
  }),
});

const PresetVolumeRef = builder.objectRef<PresetDefinition['volumes'][number]>('PresetVolume').implement({
  fields: (t) => ({
    name: t.exposeString('name', { description: 'prefixed with the service name: <service>-<name>' }),
    mountPath: t.exposeString('mountPath'),
    description: t.exposeString('description'),
  }),
});

const PresetHealthCheckRef = builder.objectRef<PresetHealthCheck>('PresetHealthCheck').implement({
  description: 'How to tell the service is ready, in Docker HEALTHCHECK terms.',
  fields: (t) => ({
    test: t.exposeStringList('test', { description: '["CMD-SHELL", "…"] or ["CMD", …]' }),
    intervalSeconds: t.exposeInt('intervalSeconds'),
    timeoutSeconds: t.exposeInt('timeoutSeconds'),
    retries: t.exposeInt('retries'),
    startPeriodSeconds: t.exposeInt('startPeriodSeconds'),
  }),
});

const PresetOutputRef = builder.objectRef<PresetOutput>('PresetOutput').implement({
  description: 'A value other services reference as ${{<service>.<key>}}.',
  fields: (t) => ({
    key: t.exposeString('key'),
    template: t.exposeString('template', { description: 'in terms of the preset service’s own variables and platform values' }),
    description: t.exposeString('description'),
  }),
});

export const PresetRef = builder.objectRef<PresetDefinition>('Preset').implement({
  description: 'A pre-configured service of the marketplace, added with addPresetService.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    category: t.exposeString('category', { description: 'database, cache, storage or queue' }),
    image: t.exposeString('image'),
    documentationUrl: t.exposeString('documentationUrl'),
    defaultName: t.exposeString('defaultName', { description: 'the service name when none is given' }),
    env: t.field({ type: [PresetEnvVarRef], resolve: (p) => p.env }),
    volumes: t.field({ type: [PresetVolumeRef], resolve: (p) => p.volumes }),
    port: t.exposeInt('port', { description: 'the port other services connect to on the deployment network' }),
    httpPort: t.exposeInt('httpPort', { nullable: true, description: 'container port exposed through the edge proxy' }),
    command: t.exposeString('command', { nullable: true }),
    healthCheck: t.field({ type: PresetHealthCheckRef, resolve: (p) => p.healthCheck }),
    outputs: t.field({ type: [PresetOutputRef], resolve: (p) => p.outputs }),
  }),
});

const PresetOverridesInput = builder.inputType('PresetOverridesInput', {
  fields: (t) => ({
    image: t.string({ description: 'instead of the preset image (a mirror, another tag)' }),
    envVars: t.field({ type: [EnvVarInput], description: 'merged over the preset env by key' }),
    httpPort: t.int({ description: 'null removes the preset httpPort' }),
    volumes: t.field({ type: [VolumeInput], description: 'replace the preset volumes' }),
    command: t.string({ description: 'null runs the image entrypoint instead of the preset command' }),
  }),
});

export const AddPresetServiceInput = builder.inputType('AddPresetServiceInput', {
  fields: (t) => ({
    deploymentId: t.id({ required: true }),
    presetId: t.id({ required: true }),
    name: t.string({ description: 'service name (DNS label); the preset defaultName when absent' }),
    overrides: t.field({ type: PresetOverridesInput }),
  }),
});
