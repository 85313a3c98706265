import { builder } from '../../schema/builder.ts';
import { DeployRunRef } from '../../schema/types/DeployRun.ts';
import { runErrors } from '../../schema/types/Error.ts';

builder.mutationField('startService', (t) =>
  t.field({
    type: DeployRunRef,
    description: 'Restart the existing container: no pull, no hook. Answers when it has restarted.',
    authScopes: { deploy: true },
    errors: { types: runErrors },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => ctx.services.deployer.start(String(id), { triggeredBy: ctx.principal!.name }),
  }),
);
