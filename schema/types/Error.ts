import { DockerError } from '../../services/docker/errors.ts';
import {
  ConflictError,
  DeployFailedError,
  ForbiddenError,
  NotDeployedError,
  NotFoundError,
  ValidationError,
} from '../../services/errors.ts';
import { prisma } from '../../prisma/client.ts';
import { builder } from '../builder.ts';

export const ErrorInterface = builder.interfaceRef<Error & { code?: string }>('Error').implement({
  description: 'A failure the client can act on; switch on __typename.',
  fields: (t) => ({
    message: t.exposeString('message'),
    code: t.string({ resolve: (error) => error.code ?? 'ERROR' }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    entity: t.exposeString('entity'),
    id: t.exposeString('id'),
  }),
});

const FieldIssue = builder
  .objectRef<{ path: string; message: string }>('FieldIssue')
  .implement({
    fields: (t) => ({
      path: t.exposeString('path', { description: 'input field, e.g. envVars[2].key' }),
      message: t.exposeString('message'),
    }),
  });

builder.objectType(ValidationError, {
  name: 'ValidationError',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    issues: t.field({ type: [FieldIssue], resolve: (error) => error.issues }),
  }),
});

builder.objectType(ConflictError, { name: 'ConflictError', interfaces: [ErrorInterface] });
builder.objectType(ForbiddenError, { name: 'ForbiddenError', interfaces: [ErrorInterface] });

builder.objectType(NotDeployedError, { name: 'NotDeployedError', interfaces: [ErrorInterface] });

builder.objectType(DockerError, {
  name: 'DockerError',
  description: 'The Docker engine or a registry refused: code says which (IMAGE_NOT_FOUND, REGISTRY_UNREACHABLE, ENGINE_UNAVAILABLE, DOCKER_ERROR…).',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    engineMessage: t.exposeString('engineMessage'),
    statusCode: t.exposeInt('statusCode', { nullable: true }),
  }),
});

builder.objectType(DeployFailedError, {
  name: 'DeployFailedError',
  description: 'The run was carried out and failed; the run holds the steps, hook output and error.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    deployRun: t.prismaField({
      type: 'DeployRun',
      resolve: (query, error) => prisma().deployRun.findUniqueOrThrow({ ...query, where: { id: error.deployRunId } }),
    }),
  }),
});

/** The errors every mutation that changes configuration can answer with. */
export const writeErrors = [ValidationError, NotFoundError, ConflictError];

/** The errors of actions that drive Docker. */
export const runErrors = [NotFoundError, ConflictError, ValidationError, NotDeployedError, DockerError, DeployFailedError];
