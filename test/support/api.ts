// The API calls most test files make to set up: each throws with the typed error's JSON
// when the API refuses, so a failing set-up says why.
import { CreateDeploymentDocument, CreateServiceDocument, DeployServiceDocument, type DeployRunFieldsFragment } from '../../client/generated/graphql.ts';
import type { TestApp } from './app.ts';

/** Creates a service in the deployment; returns its id. */
export async function createServiceIn(t: TestApp, deploymentId: string, input: Record<string, unknown>): Promise<string> {
  const { createService: r } = await t.client.request(CreateServiceDocument, { input: { deploymentId, ...input } as never });
  if (r.__typename !== 'MutationCreateServiceSuccess') throw new Error(JSON.stringify(r));
  return r.data.id;
}

/** Deploys the service and waits for the run to finish; returns the run. */
export async function deployAndWait(t: TestApp, serviceId: string): Promise<DeployRunFieldsFragment> {
  const { deployService: r } = await t.client.request(DeployServiceDocument, { id: serviceId, wait: true });
  if (r.__typename !== 'MutationDeployServiceSuccess') throw new Error(JSON.stringify(r));
  return r.data;
}

/** Creates a deployment on the default node; returns its id. */
export async function createDeploymentNamed(t: Pick<TestApp, 'client'>, name: string): Promise<string> {
  const { createDeployment: r } = await t.client.request(CreateDeploymentDocument, { input: { name } });
  if (r.__typename !== 'MutationCreateDeploymentSuccess') throw new Error(JSON.stringify(r));
  return r.data.id;
}
