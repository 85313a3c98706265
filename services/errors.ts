// Domain errors with stable codes. The schema maps each class to a GraphQL type.

export abstract class DomainError extends Error {
  abstract readonly code: string;
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(`${entity} ${JSON.stringify(id)} not found`);
  }
}

export interface FieldIssue {
  path: string;
  message: string;
}

export class ValidationError extends DomainError {
  readonly code = 'VALIDATION_FAILED';
  constructor(readonly issues: FieldIssue[]) {
    super(issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '));
  }

  static single(path: string, message: string): ValidationError {
    return new ValidationError([{ path, message }]);
  }
}

export class ConflictError extends DomainError {
  readonly code = 'CONFLICT';
}

export class ForbiddenError extends DomainError {
  readonly code = 'FORBIDDEN';
}

/** Start needs a container: the service has never been deployed (or its container is gone). */
export class NotDeployedError extends DomainError {
  readonly code = 'NOT_DEPLOYED';
}

/** A deploy, start or rollback that ran and failed; the run holds the details. */
export class DeployFailedError extends DomainError {
  constructor(
    message: string,
    readonly code: string,
    readonly deployRunId: string,
  ) {
    super(message);
  }
}
