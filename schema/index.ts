// Assembles the schema: every type and root field registers itself on import.
import { builder } from './builder.ts';
import './types/Error.ts';
import './types/Node.ts';
import './types/Deployment.ts';
import './types/CustomDomain.ts';
import './types/Service.ts';
import './types/ApiToken.ts';
import './types/Viewer.ts';
import '../resolvers/queries/viewer.ts';
import '../resolvers/queries/nodes.ts';
import '../resolvers/queries/deployments.ts';
import '../resolvers/queries/deployment.ts';
import '../resolvers/queries/service.ts';
import '../resolvers/queries/apiTokens.ts';
import '../resolvers/mutations/createDeployment.ts';
import '../resolvers/mutations/updateDeployment.ts';
import '../resolvers/mutations/deleteDeployment.ts';
import '../resolvers/mutations/createService.ts';
import '../resolvers/mutations/updateService.ts';
import '../resolvers/mutations/deleteService.ts';
import '../resolvers/mutations/createApiToken.ts';
import '../resolvers/mutations/revokeApiToken.ts';

export const schema = builder.toSchema();
