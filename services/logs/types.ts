// What a log subscription delivers: container lines, and markers that say what happened
// to the stream itself. Line events are built once per line and shared, read-only, by
// every subscriber of the container.

export type LogStream = 'STDOUT' | 'STDERR';

export type LogEventKind =
  /** a line the container wrote */
  | 'LINE'
  /** this subscriber was too slow: `dropped` older lines were discarded */
  | 'DROPPED'
  /** the service now runs another container (a deploy or rollback swapped it) */
  | 'CONTAINER_CHANGED'
  /** the container stopped or was removed; lines resume if it, or a new one, starts */
  | 'CONTAINER_STOPPED';

export interface LogEvent {
  readonly kind: LogEventKind;
  /** STDOUT or STDERR for lines (a TTY container has only STDOUT); null for markers */
  readonly stream: LogStream | null;
  /** when Docker read the line from the container (millisecond precision) */
  readonly timestamp: Date;
  /** Docker's own timestamp: RFC 3339, UTC, always nine fractional digits, so it sorts as a string */
  readonly timestampNanos: string;
  /** the line without its line ending; for markers, a sentence for humans */
  readonly text: string;
  /** the container the line came from; for CONTAINER_CHANGED the new one */
  readonly containerId: string | null;
  /** DROPPED: how many lines were discarded */
  readonly dropped: number | null;
}

export interface LogHubStats {
  /** containers with a shared follower (one upstream Docker logs stream each at most) */
  followers: number;
  /** upstream follow streams currently open against an engine */
  openUpstreams: number;
  /** upstream follow streams opened since the hub started */
  upstreamsOpened: number;
  /** lines read from upstream follow streams since the hub started */
  upstreamLines: number;
  /** non-follow history requests made to engines since the hub started (identical concurrent ones are shared) */
  historyRequests: number;
  /** live serviceLogs subscriptions */
  subscriptions: number;
  /** subscriptions attached to a container follower */
  attachments: number;
  /** services with a state watch (one event-bus listener each) */
  watches: number;
  /** lines dropped for slow subscribers since the hub started */
  droppedLines: number;
  /** events queued for subscribers right now, all subscriptions together */
  queuedEvents: number;
}
