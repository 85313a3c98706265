import { builder } from '../../schema/builder.ts';
import { DeployRunRef } from '../../schema/types/DeployRun.ts';
import { runErrors } from '../../schema/types/Error.ts';

builder.mutationField('rollbackService', (t) =>
  t.field({
    type: DeployRunRef,
    description:
      'Redeploy the exact image digest and configuration of an earlier successful run (the pre-deploy hook is not run again). The service configuration is restored to that snapshot.',
    authScopes: { deploy: true },
    errors: { types: runErrors },
    args: {
      deployRunId: t.arg.id({ required: true }),
      wait: t.arg.boolean({ defaultValue: false }),
    },
    resolve: (_root, { deployRunId, wait }, ctx) =>
      ctx.services.deployer.rollback(String(deployRunId), { triggeredBy: ctx.principal!.name, wait: wait ?? false }),
  }),
);
