import { builder } from '../../schema/builder.ts';
import { PresetRef } from '../../schema/types/Preset.ts';

builder.queryField('presets', (t) =>
  t.field({
    type: [PresetRef],
    description: 'The presets marketplace: services to add with addPresetService.',
    authScopes: { read: true },
    resolve: (_root, _args, ctx) => [...ctx.services.presets.list()],
  }),
);
