import { pino, type Logger } from 'pino';

export type { Logger };

// Secrets never reach the log: env values, tokens and auth headers are redacted.
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: [
        'envVars[*].value',
        '*.envVars[*].value',
        'token',
        '*.token',
        'authorization',
        '*.authorization',
        'headers.authorization',
        '*.headers.authorization',
      ],
      censor: '[redacted]',
    },
  });
}
