import type { ServiceStateEvent } from '../../services/events.ts';
import { builder } from '../builder.ts';
import { ServiceStatus } from './Service.ts';

export const ServiceStateEventRef = builder.objectRef<ServiceStateEvent>('ServiceStateEvent').implement({
  description: 'A service moved from one state to another.',
  fields: (t) => ({
    serviceId: t.exposeID('serviceId'),
    deploymentId: t.exposeID('deploymentId'),
    from: t.expose('from', { type: ServiceStatus }),
    to: t.expose('to', { type: ServiceStatus }),
    reason: t.exposeString('reason'),
    exitCode: t.exposeInt('exitCode', { nullable: true }),
    deployRunId: t.exposeID('deployRunId', { nullable: true }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});
