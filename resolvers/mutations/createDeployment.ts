import { builder } from '../../schema/builder.ts';
import { CreateDeploymentInput, DeploymentRef } from '../../schema/types/Deployment.ts';
import { writeErrors } from '../../schema/types/Error.ts';

builder.mutationField('createDeployment', (t) =>
  t.field({
    type: DeploymentRef,
    authScopes: { deploy: true },
    errors: { types: writeErrors },
    args: { input: t.arg({ type: CreateDeploymentInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      ctx.services.deployments.create({ ...input, nodeId: input.nodeId == null ? null : String(input.nodeId) }),
  }),
);
