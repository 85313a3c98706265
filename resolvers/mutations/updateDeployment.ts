import { builder } from '../../schema/builder.ts';
import { DeploymentRef, UpdateDeploymentInput } from '../../schema/types/Deployment.ts';
import { writeErrors } from '../../schema/types/Error.ts';

builder.mutationField('updateDeployment', (t) =>
  t.field({
    type: DeploymentRef,
    authScopes: { deploy: true },
    errors: { types: writeErrors },
    args: { input: t.arg({ type: UpdateDeploymentInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.services.deployments.update({ ...input, id: String(input.id) }),
  }),
);
