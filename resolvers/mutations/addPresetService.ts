import { builder } from '../../schema/builder.ts';
import { writeErrors } from '../../schema/types/Error.ts';
import { AddPresetServiceInput } from '../../schema/types/Preset.ts';
import { ServiceRef } from '../../schema/types/Service.ts';

builder.mutationField('addPresetService', (t) =>
  t.field({
    type: ServiceRef,
    description: 'Adds a service from the presets marketplace, with freshly generated secrets; deploy it next.',
    authScopes: { deploy: true },
    errors: { types: writeErrors },
    args: { input: t.arg({ type: AddPresetServiceInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      ctx.services.presets.add({ ...input, deploymentId: String(input.deploymentId), presetId: String(input.presetId) }),
  }),
);
