import { prisma } from '../../prisma/client.ts';
import { builder } from '../../schema/builder.ts';
import { DeployRunEventRef } from '../../schema/types/DeployRunEvent.ts';
import { deployRunEvents } from '../../services/deployRunEvents.ts';

builder.subscriptionField('deployRunEvents', (t) =>
  t.field({
    type: DeployRunEventRef,
    description: 'Everything that already happened in the run, then live events; completes after FINISHED.',
    authScopes: { read: true },
    args: { deployRunId: t.arg.id({ required: true }) },
    subscribe: (_root, { deployRunId }, ctx) => deployRunEvents(prisma(), ctx.services.events, String(deployRunId)),
    resolve: (event) => event,
  }),
);
