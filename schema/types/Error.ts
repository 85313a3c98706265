import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../services/errors.ts';
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

/** The errors every mutation that changes configuration can answer with. */
export const writeErrors = [ValidationError, NotFoundError, ConflictError];
