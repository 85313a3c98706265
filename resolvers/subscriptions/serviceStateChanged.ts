import { builder } from '../../schema/builder.ts';
import { ServiceStateEventRef } from '../../schema/types/ServiceStateEvent.ts';
import { NotFoundError, ValidationError } from '../../services/errors.ts';

builder.subscriptionField('serviceStateChanged', (t) =>
  t.field({
    type: ServiceStateEventRef,
    description: 'Every state transition of one service, or of every service of one deployment.',
    authScopes: { read: true },
    args: { serviceId: t.arg.id(), deploymentId: t.arg.id() },
    subscribe: async (_root, { serviceId, deploymentId }, ctx) => {
      if ((serviceId == null) === (deploymentId == null)) {
        throw ValidationError.single('serviceId', 'give exactly one of serviceId or deploymentId');
      }
      if (serviceId != null) {
        await ctx.services.serviceConfigs.get(String(serviceId));
        return ctx.services.events.subscribe('service:state', String(serviceId));
      }
      const deployment = await ctx.services.deployments.get(String(deploymentId)).catch(() => null);
      if (!deployment) throw new NotFoundError('Deployment', String(deploymentId));
      return ctx.services.events.subscribe('deployment:state', String(deploymentId));
    },
    resolve: (event) => event,
  }),
);
