// Adds a service from the catalogue in one call: the preset's image, env (with freshly
// generated secrets), volumes, ports and command, the caller's overrides on top, and the
// preset's outputs so other services can reference them.
import { randomInt } from 'node:crypto';
import type { Service } from '../../prisma/generated/client/client.ts';
import { NotFoundError } from '../errors.ts';
import type { EnvVar, ServiceConfigService, VolumeMount } from '../serviceConfigs.ts';
import { PRESETS, type PresetDefinition, type SecretKind } from './catalog.ts';

export interface PresetOverrides {
  image?: string | null;
  /** merged over the preset's env by key */
  envVars?: EnvVar[] | null;
  /** null removes the preset's httpPort */
  httpPort?: number | null;
  /** replace the preset's volumes */
  volumes?: VolumeMount[] | null;
  /** null runs the image's own entrypoint instead of the preset's command */
  command?: string | null;
}

export interface AddPresetServiceInput {
  deploymentId: string;
  presetId: string;
  /** defaults to the preset's defaultName */
  name?: string | null;
  overrides?: PresetOverrides | null;
}

const ALPHABETS: Record<SecretKind, { first: string; rest: string }> = {
  // Letters and digits only: safe unescaped in URLs, shells and connection strings.
  password: { first: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', rest: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789' },
  key: { first: '0123456789abcdef', rest: '0123456789abcdef' },
  username: { first: 'abcdefghijklmnopqrstuvwxyz', rest: 'abcdefghijklmnopqrstuvwxyz0123456789' },
};

/** A fresh random secret from the OS CSPRNG (crypto.randomInt is unbiased). */
export function generateSecret(kind: SecretKind, length: number): string {
  const { first, rest } = ALPHABETS[kind];
  let out = first[randomInt(first.length)];
  for (let i = 1; i < length; i++) out += rest[randomInt(rest.length)];
  return out;
}

export class PresetService {
  constructor(private readonly configs: ServiceConfigService) {}

  list(): readonly PresetDefinition[] {
    return PRESETS;
  }

  get(id: string): PresetDefinition {
    const preset = PRESETS.find((p) => p.id === id);
    if (!preset) throw new NotFoundError('Preset', id);
    return preset;
  }

  /** Creates the service (not deployed yet); every generated secret is new. */
  add(input: AddPresetServiceInput): Promise<Service> {
    const preset = this.get(input.presetId);
    const name = input.name ?? preset.defaultName;
    const overrides = input.overrides ?? {};
    const env = new Map(preset.env.map((v) => [v.key, v.value ?? generateSecret(v.generate!.kind, v.generate!.length)]));
    for (const { key, value } of overrides.envVars ?? []) env.set(key, value);
    return this.configs.create({
      deploymentId: input.deploymentId,
      name,
      image: overrides.image ?? preset.image,
      envVars: [...env].map(([key, value]) => ({ key, value })),
      httpPort: overrides.httpPort !== undefined ? overrides.httpPort : preset.httpPort,
      volumes: overrides.volumes ?? preset.volumes.map((v) => ({ name: `${name}-${v.name}`, mountPath: v.mountPath })),
      command: overrides.command !== undefined ? overrides.command : preset.command,
      presetId: preset.id,
      presetOutputs: Object.fromEntries(preset.outputs.map((o) => [o.key, o.template])),
    });
  }
}
