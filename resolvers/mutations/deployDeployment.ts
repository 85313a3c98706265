import { builder } from '../../schema/builder.ts';
import { DeployRunRef } from '../../schema/types/DeployRun.ts';
import { runErrors } from '../../schema/types/Error.ts';

builder.mutationField('deployDeployment', (t) =>
  t.field({
    type: [DeployRunRef],
    description:
      'Deploy every service of the deployment, one after another: services others reference first, then creation order. ' +
      'With `wait`, returns when all are done and stops at the first failure. Without, returns every run PENDING; each starts ' +
      'once the one before it succeeded, and after a failure the rest end CANCELLED (errorCode PREVIOUS_FAILED).',
    authScopes: { deploy: true },
    errors: { types: runErrors },
    args: {
      id: t.arg.id({ required: true }),
      wait: t.arg.boolean({ defaultValue: false }),
    },
    resolve: (_root, { id, wait }, ctx) =>
      ctx.services.deployer.deployDeployment(String(id), { triggeredBy: ctx.principal!.name, wait: wait ?? false }),
  }),
);
