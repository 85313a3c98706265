import { builder } from '../builder.ts';

export const DeploymentRef = builder.prismaObject('Deployment', {
  description: 'A group of services sharing one private network.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    networkName: t.string({
      description: 'the Docker bridge network of this deployment',
      resolve: (deployment) => `mp-dep-${deployment.id}`,
    }),
    node: t.relation('node'),
    services: t.relation('services', { query: { orderBy: { name: 'asc' } } }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export const CreateDeploymentInput = builder.inputType('CreateDeploymentInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: 'DNS label, unique' }),
    description: t.string(),
    nodeId: t.id({ description: 'defaults to the default node' }),
  }),
});

export const UpdateDeploymentInput = builder.inputType('UpdateDeploymentInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string(),
    description: t.string(),
  }),
});
