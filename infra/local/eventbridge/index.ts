/**
 * Local EventBridge: an HTTP endpoint on 127.0.0.1 speaking the EventBridge wire protocol (AWS JSON 1.1,
 * `X-Amz-Target: AWSEvents.<Operation>`), so `@aws-sdk/client-eventbridge` and `aws events … --endpoint-url` work
 * with only the endpoint changed. Signatures are accepted without verification (no credentials exist locally).
 *
 * Operations: PutEvents (AWS limits: 1–10 entries, 1 MB per entry, per-entry InvalidArgument/MalformedDetail errors,
 * FailedEntryCount), TestEventPattern, PutRule, DeleteRule, ListRules, DescribeRule, PutTargets, RemoveTargets,
 * ListTargetsByRule, DescribeEventBus, CreateEventBus, ListEventBuses.
 *
 * Rules added in-process with putRule() deliver to a JavaScript target; rules and targets created over the API are
 * recorded and matched (visible in ListRules/ListTargetsByRule and in matchedBy()) but nothing is invoked for them,
 * since a Lambda or SQS ARN does not exist locally.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handle, send } from './api.ts';
import { Bus, EVENT_PATTERN_SIZE_QUOTA, busName, type LocalRule, type PutEventsEntryInput, type PutEventsResultEntry } from './bus.ts';

export { EVENT_PATTERN_SIZE_QUOTA, MAX_ENTRIES, MAX_ENTRY_BYTES, entrySize } from './bus.ts';
export type { DeliveredEvent, LocalRule, PutEventsEntryInput, PutEventsResultEntry } from './bus.ts';

export interface StartEventBridgeOptions {
  host?: string;
  port?: number;
  account?: string;
  region?: string;
  /**
   * The account's "Event pattern size" quota in characters (EventBridge's default 2048, adjustable): PutRule and
   * putRule() refuse a longer pattern, as EventBridge does, so a pattern that would fail `serverless deploy`
   * fails here first.
   */
  patternSizeQuota?: number;
}

export interface LocalEventBridge {
  url: string;
  account: string;
  region: string;
  putRule(r: LocalRule): void;
  deleteRule(name: string, eventBusName?: string): void;
  onEvent(cb: (event: object) => void): () => void;
  /** Called when a putRule() target rejects (the runner wraps its targets with retries, so this is a last resort). */
  onTargetError(cb: (rule: string, event: object, err: unknown) => void): () => void;
  received(): object[];
  /** Names of the rules (API-created or putRule) that matched an accepted event id. */
  matchedBy(eventId: string): string[];
  injectFailures(f: { code: 'ThrottlingException' | 'InternalFailure' | string; count: number }): void;
  /** In-process PutEvents with the same validation and results as the HTTP operation. */
  putEvents(entries: PutEventsEntryInput[]): { FailedEntryCount: number; Entries: PutEventsResultEntry[] };
  /** Resolves when every delivery started so far has settled (tests, --once). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startEventBridge(opts: StartEventBridgeOptions = {}): Promise<LocalEventBridge> {
  const bus = new Bus(opts.account ?? '000000000000', opts.region ?? 'us-east-1', opts.patternSizeQuota ?? EVENT_PATTERN_SIZE_QUOTA);
  const server = createServer((req, res) => {
    handle(bus, req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { __type: 'InternalException', message: String(err) }, 'InternalException');
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;

  return {
    url: `http://${host}:${addr.port}`,
    account: bus.account,
    region: bus.region,
    putRule: (r: LocalRule) => bus.putLocalRule(r),
    deleteRule(name, eventBusName) {
      bus.localRules.delete(bus.ruleKey(busName(eventBusName), name));
    },
    onEvent(cb) {
      bus.listeners.add(cb);
      return () => bus.listeners.delete(cb);
    },
    onTargetError(cb) {
      bus.errorListeners.add(cb);
      return () => bus.errorListeners.delete(cb);
    },
    received: () => [...bus.accepted],
    matchedBy: (id) => bus.matched.get(id) ?? [],
    injectFailures(f) {
      if (!Number.isInteger(f.count) || f.count < 1) throw new Error(`injectFailures: count must be a positive integer, got ${f.count}`);
      bus.failures.push({ code: f.code, count: f.count });
    },
    putEvents: (entries: PutEventsEntryInput[]): { FailedEntryCount: number; Entries: PutEventsResultEntry[] } => bus.putEvents(entries),
    idle: () => bus.idle(),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
