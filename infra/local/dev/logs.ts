/**
 * CloudWatch Logs subscription delivery, locally: log events written to a log group pass the subscription's
 * filter pattern (logs-filter.ts) and reach the destination function as CloudWatch Logs delivers them:
 * `{ awslogs: { data: base64(gzip(JSON)) } }` whose JSON is a DATA_MESSAGE
 * `{ messageType, owner, logGroup, logStream, subscriptionFilters, logEvents: [{ id, timestamp, message }] }`.
 * Events are buffered briefly and delivered in batches, as the service does.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { compileLogsFilter } from '../eventbridge/logs-filter.ts';

export interface LogEvent {
  id: string;
  timestamp: number;
  message: string;
}

export interface DataMessage {
  messageType: 'DATA_MESSAGE' | 'CONTROL_MESSAGE';
  owner: string;
  logGroup: string;
  logStream: string;
  subscriptionFilters: string[];
  logEvents: LogEvent[];
}

export interface AwsLogsEvent {
  awslogs: { data: string };
}

/** The one CloudWatch Logs subscription envelope encoder: base64(gzip(JSON)) of a DATA_MESSAGE. */
export function encodeAwsLogs(m: DataMessage): AwsLogsEvent {
  return { awslogs: { data: gzipSync(Buffer.from(JSON.stringify(m), 'utf8')).toString('base64') } };
}

/** The subscription event CloudWatch Logs would deliver for these (audit) records, in one DATA_MESSAGE (tests, benches). */
export function recordsAsAwsLogs(records: object[], logGroup: string, logStream = 'kube-apiserver-audit-local', now = Date.now()): AwsLogsEvent {
  return encodeAwsLogs({
    messageType: 'DATA_MESSAGE',
    owner: '000000000000',
    logGroup,
    logStream,
    subscriptionFilters: ['ripple-protect'],
    logEvents: records.map((r) => ({ id: logEventId(now), timestamp: now, message: JSON.stringify(r) })),
  });
}

/** One Kinesis record of an event source mapping's batch. */
export interface KinesisRecordEvent {
  eventSource: 'aws:kinesis';
  eventVersion: '1.0';
  eventID: string;
  eventName: 'aws:kinesis:record';
  eventSourceARN: string;
  awsRegion: string;
  invokeIdentityArn: string;
  kinesis: { kinesisSchemaVersion: '1.0'; partitionKey: string; sequenceNumber: string; data: string; approximateArrivalTimestamp: number };
}

/**
 * The batch a Kinesis event source mapping delivers when a CloudWatch Logs destination put these subscription
 * payloads on the stream (clusters in other regions/accounts): each record's data is base64(gzip(JSON)) of one
 * payload, the same bytes as `awslogs.data`. `streamArn` names the stream (its account is the stack's).
 */
export function messagesAsKinesis(messages: DataMessage[], streamArn = 'arn:aws:kinesis:eu-west-1:000000000000:stream/ripple-dev-audit'): { Records: KinesisRecordEvent[] } {
  const region = streamArn.split(':')[3] ?? 'eu-west-1';
  return {
    Records: messages.map((m, i) => {
      const sequenceNumber = kinesisSequenceNumber();
      return {
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `shardId-000000000000:${sequenceNumber}`,
        eventName: 'aws:kinesis:record',
        eventSourceARN: streamArn,
        awsRegion: region,
        invokeIdentityArn: `arn:aws:iam::${streamArn.split(':')[4]}:role/ProtectRole`,
        kinesis: { kinesisSchemaVersion: '1.0', partitionKey: `${m.logGroup}-${i}`, sequenceNumber, data: encodeAwsLogs(m).awslogs.data, approximateArrivalTimestamp: Date.now() / 1000 },
      };
    }),
  };
}

/** A DATA_MESSAGE of these (audit) records from a log group of account `owner` (tests, benches). */
export function auditMessage(records: object[], logGroup: string, owner: string, logStream = 'kube-apiserver-audit-local', now = Date.now()): DataMessage {
  return {
    messageType: 'DATA_MESSAGE',
    owner,
    logGroup,
    logStream,
    subscriptionFilters: ['ripple-protect'],
    logEvents: records.map((r) => ({ id: logEventId(now), timestamp: now, message: JSON.stringify(r) })),
  };
}

let kinesisSeq = 0n;
/** Kinesis sequence numbers: long decimal strings that grow along the shard. */
function kinesisSequenceNumber(): string {
  kinesisSeq += 1n;
  return (49_650_000_000_000_000_000_000_000_000_000_000_000_000_000n + BigInt(Date.now()) * 1_000_000n + kinesisSeq).toString();
}

let seq = 0;
/** CloudWatch Logs event ids are long decimal strings that sort by time. */
export function logEventId(timestamp: number): string {
  seq = (seq + 1) % 1_000_000;
  return `${String(timestamp).padStart(16, '0')}${String(seq).padStart(6, '0')}${BigInt('0x' + randomBytes(8).toString('hex')).toString().padStart(20, '0').slice(0, 20)}`;
}

export interface SubscriptionOptions {
  name: string;
  owner: string;
  logGroup: string;
  logStream: string;
  filterPattern: string;
  /** How long events are buffered before delivery. */
  flushMs: number;
  maxEvents?: number;
  deliver: (event: AwsLogsEvent, message: DataMessage) => void;
}

export class LogSubscription {
  private opts: SubscriptionOptions;
  private filter: (message: string) => boolean;
  private buffer: LogEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  matched = 0;
  seen = 0;

  constructor(opts: SubscriptionOptions) {
    this.opts = opts;
    this.filter = compileLogsFilter(opts.filterPattern);
  }

  put(message: string, timestamp = Date.now()): void {
    this.seen++;
    if (!this.filter(message)) return;
    this.matched++;
    this.buffer.push({ id: logEventId(timestamp), timestamp, message });
    if (this.buffer.length >= (this.opts.maxEvents ?? 500)) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.opts.flushMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.buffer.length === 0) return;
    const message: DataMessage = {
      messageType: 'DATA_MESSAGE',
      owner: this.opts.owner,
      logGroup: this.opts.logGroup,
      logStream: this.opts.logStream,
      subscriptionFilters: [this.opts.name],
      logEvents: this.buffer,
    };
    this.buffer = [];
    this.opts.deliver(encodeAwsLogs(message), message);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
