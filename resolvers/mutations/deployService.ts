import { builder } from '../../schema/builder.ts';
import { DeployRunRef } from '../../schema/types/DeployRun.ts';
import { runErrors } from '../../schema/types/Error.ts';

builder.mutationField('deployService', (t) =>
  t.field({
    type: DeployRunRef,
    description: 'Force-pull the image, run the pre-deploy hook, swap the container. Queued behind any run in progress.',
    authScopes: { deploy: true },
    errors: { types: runErrors },
    args: {
      id: t.arg.id({ required: true }),
      wait: t.arg.boolean({ defaultValue: false, description: 'answer when the run has finished (a failure is a DeployFailedError)' }),
    },
    resolve: (_root, { id, wait }, ctx) =>
      ctx.services.deployer.deploy(String(id), { triggeredBy: ctx.principal!.name, wait: wait ?? false }),
  }),
);
