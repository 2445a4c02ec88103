/**
 * EKS audit records of clusters in other regions or accounts, as they reach protect: their log group's subscription
 * filter (infra/aws/spoke.yml) -> a CloudWatch Logs destination in that region (infra/aws/audit-destination.yml) ->
 * the hub's Kinesis stream -> protect's event source mapping, in batches `{ Records: [{ eventSource: "aws:kinesis",
 * eventSourceARN, kinesis: { data, sequenceNumber } }] }`. Each record's `data` is the same base64(gzip(JSON))
 * subscription payload as a direct subscription's `awslogs.data`, decoded by the same code (audit.ts).
 *
 * Pure: a batch -> one delivery per cluster (its records' log events in stream order, so protect sees them as one
 * delivery and only the latest change acts), plus the records ignored (control messages) and refused (malformed,
 * not an EKS audit log group, a cluster the stage does not serve, or a log group of another account than that
 * cluster's). A refused record never fails the batch: retrying it would not make it any more trustworthy.
 */
import { auditSourceOf, decodeLogsData, type LogsPayload, type StageCluster } from './audit.ts';

export interface KinesisRecord {
  eventSource?: string;
  /** The stream (`arn:aws:kinesis:<region>:<account>:stream/<name>`): set by the event source mapping. */
  eventSourceARN?: string;
  eventID?: string;
  kinesis: { data: string; sequenceNumber: string; partitionKey?: string };
}

export interface KinesisEvent {
  Records: KinesisRecord[];
}

/** A Kinesis event source mapping's batch (every record from `aws:kinesis`). */
export function isKinesisEvent(e: unknown): e is KinesisEvent {
  const records = (e as { Records?: unknown } | null)?.Records;
  return Array.isArray(records) && records.length > 0 && records.every((r) => (r as KinesisRecord | null)?.eventSource === 'aws:kinesis' && typeof (r as KinesisRecord).kinesis?.data === 'string');
}

/** The audit records of one cluster in a batch. */
export interface AuditDelivery {
  cluster: string;
  /** The records' payloads as one: the first one's envelope, every record's log events in stream order. */
  payload: LogsPayload;
  /** Its records, in stream order (the first is the one to retry from). */
  sequenceNumbers: string[];
}

export interface RefusedRecord {
  sequenceNumber: string;
  reason: string;
  logGroup?: string;
  owner?: string;
}

export interface KinesisDeliveries {
  deliveries: AuditDelivery[];
  refused: RefusedRecord[];
  /** Records with nothing to act on (control messages), with why. */
  ignored: string[];
}

/** `arn:<partition>:kinesis:<region>:<account>:stream/<name>` -> `<account>`; null for anything else. */
export function streamAccountOf(arn: string | undefined): string | null {
  return /^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:(\d{12}):stream\/.+$/.exec(arn ?? '')?.[1] ?? null;
}

/** A Kinesis batch -> the audit deliveries per cluster of the stage, and what was ignored or refused (see the header). */
export function kinesisDeliveries(event: KinesisEvent, stage: readonly StageCluster[]): KinesisDeliveries {
  const byCluster = new Map<string, AuditDelivery>();
  const refused: RefusedRecord[] = [];
  const ignored: string[] = [];
  for (const r of event.Records) {
    const sequenceNumber = r.kinesis.sequenceNumber;
    const ownAccount = streamAccountOf(r.eventSourceARN);
    if (ownAccount === null) {
      refused.push({ sequenceNumber, reason: `eventSourceARN ${r.eventSourceARN ?? '(none)'} is not a Kinesis stream ARN: not a delivery of the event source mapping` });
      continue;
    }
    let payload: LogsPayload;
    try {
      payload = decodeLogsData(r.kinesis.data, `record ${sequenceNumber}: kinesis.data`);
    } catch (err) {
      refused.push({ sequenceNumber, reason: (err as Error).message });
      continue;
    }
    if (payload.messageType === 'CONTROL_MESSAGE') {
      ignored.push(`record ${sequenceNumber}: CloudWatch Logs control message`);
      continue;
    }
    if (payload.messageType !== 'DATA_MESSAGE') {
      refused.push({ sequenceNumber, reason: `messageType ${String(payload.messageType)} is neither DATA_MESSAGE nor CONTROL_MESSAGE`, logGroup: payload.logGroup, ...(payload.owner ? { owner: payload.owner } : {}) });
      continue;
    }
    const source = auditSourceOf(payload, stage, ownAccount);
    if ('refused' in source) {
      refused.push({ sequenceNumber, reason: source.refused, logGroup: payload.logGroup, ...(payload.owner ? { owner: payload.owner } : {}) });
      continue;
    }
    const d = byCluster.get(source.cluster);
    if (d) {
      d.payload.logEvents.push(...payload.logEvents);
      d.sequenceNumbers.push(sequenceNumber);
    } else {
      byCluster.set(source.cluster, { cluster: source.cluster, payload: { ...payload, logEvents: [...payload.logEvents] }, sequenceNumbers: [sequenceNumber] });
    }
  }
  return { deliveries: [...byCluster.values()], refused, ignored };
}
