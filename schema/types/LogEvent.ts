import type { LogEvent } from '../../services/logs/types.ts';
import { builder } from '../builder.ts';

export const LogEventKind = builder.enumType('LogEventKind', {
  description: 'What a serviceLogs event is: a line, or a marker about the stream itself.',
  values: {
    LINE: { description: 'A line the container wrote.' },
    DROPPED: { description: 'This subscriber read too slowly: `dropped` older lines were discarded.' },
    CONTAINER_CHANGED: { description: 'The service now runs another container (`containerId`); its lines follow.' },
    CONTAINER_STOPPED: { description: 'The container stopped or was removed; lines resume when it, or a new one, runs.' },
  } as const,
});

export const LogStream = builder.enumType('LogStream', {
  description: 'Where a line was written. A container with a TTY has only STDOUT.',
  values: ['STDOUT', 'STDERR'] as const,
});

export const LogEventRef = builder.objectRef<LogEvent>('LogEvent').implement({
  description: 'One container log line, or a marker (kind other than LINE).',
  fields: (t) => ({
    kind: t.expose('kind', { type: LogEventKind }),
    stream: t.expose('stream', { type: LogStream, nullable: true, description: 'null for markers' }),
    timestamp: t.expose('timestamp', { type: 'DateTime', description: 'When Docker read the line from the container (milliseconds).' }),
    timestampNanos: t.exposeString('timestampNanos', {
      description: "Docker's timestamp with nanoseconds (RFC 3339, UTC, nine fractional digits): orders lines exactly.",
    }),
    text: t.exposeString('text', { description: 'The line without its line ending; for markers, a sentence for humans.' }),
    containerId: t.exposeID('containerId', { nullable: true, description: 'The container the line came from; for CONTAINER_CHANGED, the new one.' }),
    dropped: t.exposeInt('dropped', { nullable: true, description: 'DROPPED: how many lines were discarded.' }),
  }),
});
