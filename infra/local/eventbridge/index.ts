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
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compilePattern, InvalidEventPatternError, matches } from './pattern.ts';

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

/** EventBridge's default "Event pattern size" quota (characters). */
export const EVENT_PATTERN_SIZE_QUOTA = 2048;

/** An event as EventBridge delivers it to targets. */
export interface DeliveredEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
  /** Not part of the envelope: the bus the event was put on (kept out of JSON by being non-enumerable). */
  readonly eventBusName?: string;
}

export interface LocalRule {
  name: string;
  eventBusName?: string;
  pattern: object;
  target: (event: object) => Promise<void>;
}

export interface PutEventsEntryInput {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Resources?: string[];
  EventBusName?: string;
  Time?: Date | number | string;
  TraceHeader?: string;
}

export type PutEventsResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

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

export const MAX_ENTRIES = 10;
/** PutEvents entry size limit (1 MB since January 2026; see docs/local.md). */
export const MAX_ENTRY_BYTES = 1024 * 1024;

class ApiError extends Error {
  readonly type: string;
  readonly status: number;
  constructor(type: string, message: string, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

interface ApiRule {
  Name: string;
  EventBusName: string;
  EventPattern?: string;
  /** EventPattern parsed once at PutRule: `matches` caches the compiled form per object, so delivery neither re-parses nor re-compiles. */
  parsedPattern?: unknown;
  ScheduleExpression?: string;
  State: string;
  Description?: string;
  Targets: Array<Record<string, unknown>>;
}

function busName(nameOrArn: string | undefined): string {
  if (!nameOrArn) return 'default';
  const m = /^arn:[^:]+:events:[^:]*:[^:]*:event-bus\/(.+)$/.exec(nameOrArn);
  return m ? m[1] : nameOrArn;
}

/** Entry size as AWS computes it (calculate-putevents-entry-size): Time 14 bytes, then UTF-8 bytes of each field. */
export function entrySize(e: PutEventsEntryInput): number {
  let size = e.Time !== undefined ? 14 : 0;
  for (const s of [e.Source, e.DetailType, e.Detail]) if (typeof s === 'string') size += Buffer.byteLength(s, 'utf8');
  for (const r of e.Resources ?? []) if (typeof r === 'string') size += Buffer.byteLength(r, 'utf8');
  return size;
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function toDate(t: PutEventsEntryInput['Time']): Date | null {
  if (t === undefined || t === null) return new Date();
  const d = t instanceof Date ? t : typeof t === 'number' ? new Date(t * 1000) : new Date(t);
  return Number.isNaN(d.getTime()) ? null : d;
}

export async function startEventBridge(opts: StartEventBridgeOptions = {}): Promise<LocalEventBridge> {
  const account = opts.account ?? '000000000000';
  const region = opts.region ?? 'us-east-1';
  const patternQuota = opts.patternSizeQuota ?? EVENT_PATTERN_SIZE_QUOTA;
  const localRules = new Map<string, LocalRule>();
  const apiRules = new Map<string, ApiRule>();
  const buses = new Set<string>(['default']);
  const accepted: DeliveredEvent[] = [];
  const matched = new Map<string, string[]>();
  const listeners = new Set<(e: object) => void>();
  const errorListeners = new Set<(rule: string, e: object, err: unknown) => void>();
  const pending = new Set<Promise<void>>();
  const failures: Array<{ code: string; count: number }> = [];

  const ruleKey = (bus: string, name: string) => `${bus}/${name}`;
  const ruleArn = (bus: string, name: string) => `arn:aws:events:${region}:${account}:rule/${bus === 'default' ? '' : `${bus}/`}${name}`;
  const busArn = (bus: string) => `arn:aws:events:${region}:${account}:event-bus/${bus}`;

  function nextInjectedFailure(): string | null {
    const f = failures[0];
    if (!f) return null;
    f.count--;
    if (f.count <= 0) failures.shift();
    return f.code;
  }

  function deliver(event: DeliveredEvent, bus: string): void {
    const names: string[] = [];
    for (const rule of apiRules.values()) {
      if (rule.EventBusName === bus && rule.State === 'ENABLED' && rule.parsedPattern !== undefined && matches(rule.parsedPattern, event)) names.push(rule.Name);
    }
    const targets: LocalRule[] = [];
    for (const rule of localRules.values()) {
      if (busName(rule.eventBusName) === bus && matches(rule.pattern, event)) {
        names.push(rule.name);
        targets.push(rule);
      }
    }
    matched.set(event.id, names);
    for (const cb of listeners) cb(event);
    for (const rule of targets) {
      // each target gets its own copy, as EventBridge serialises the event per delivery
      const copy = JSON.parse(JSON.stringify(event)) as object;
      const p = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => rule.target(copy))
        .catch((err: unknown) => {
          for (const cb of errorListeners) cb(rule.name, copy, err);
          if (errorListeners.size === 0) console.error(`local EventBridge: target of rule ${rule.name} failed: ${err instanceof Error ? err.message : String(err)}`);
        })
        .finally(() => pending.delete(p));
      pending.add(p);
    }
  }

  function putEvents(entries: PutEventsEntryInput[]): { FailedEntryCount: number; Entries: PutEventsResultEntry[] } {
    if (!Array.isArray(entries) || entries.length < 1) {
      throw new ApiError('ValidationException', "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null");
    }
    if (entries.length > MAX_ENTRIES) {
      throw new ApiError('ValidationException', `1 validation error detected: Value '[${entries.length} entries]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES}`);
    }
    const results: PutEventsResultEntry[] = [];
    const toDeliver: Array<[DeliveredEvent, string]> = [];
    for (const e of entries) {
      const error = (ErrorCode: string, ErrorMessage: string) => results.push({ ErrorCode, ErrorMessage });
      const injected = nextInjectedFailure();
      if (injected) {
        error(injected, injected === 'ThrottlingException' ? 'Rate exceeded' : 'Internal Failure (injected by the local bus)');
        continue;
      }
      if (typeof e?.Source !== 'string' || e.Source === '') {
        error('InvalidArgument', 'Parameter Source is not valid. Reason: Source is a required argument.');
        continue;
      }
      if (typeof e.DetailType !== 'string' || e.DetailType === '') {
        error('InvalidArgument', 'Parameter DetailType is not valid. Reason: DetailType is a required argument.');
        continue;
      }
      if (typeof e.Detail !== 'string' || e.Detail === '') {
        error('InvalidArgument', 'Parameter Detail is not valid. Reason: Detail is a required argument.');
        continue;
      }
      const size = entrySize(e);
      if (size > MAX_ENTRY_BYTES) {
        error('InvalidArgument', `Parameter Entry is not valid. Reason: entry size ${size} bytes is over the limit of ${MAX_ENTRY_BYTES} bytes.`);
        continue;
      }
      let detail: unknown;
      try {
        detail = JSON.parse(e.Detail);
      } catch {
        detail = undefined;
      }
      if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
        error('MalformedDetail', 'Detail is malformed.');
        continue;
      }
      const time = toDate(e.Time);
      if (!time) {
        error('InvalidArgument', 'Parameter Time is not valid. Reason: Time must be a timestamp.');
        continue;
      }
      // buses come into existence on first use (rules and senders need no CreateEventBus call locally)
      const bus = busName(e.EventBusName);
      buses.add(bus);
      const event: DeliveredEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': e.DetailType,
        source: e.Source,
        account,
        time: isoSeconds(time),
        region,
        resources: Array.isArray(e.Resources) ? e.Resources.filter((r) => typeof r === 'string') : [],
        detail,
      };
      Object.defineProperty(event, 'eventBusName', { value: bus, enumerable: false });
      results.push({ EventId: event.id });
      accepted.push(event);
      toDeliver.push([event, bus]);
    }
    for (const [event, bus] of toDeliver) deliver(event, bus);
    return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
  }

  function requireString(input: Record<string, unknown>, field: string): string {
    const v = input[field];
    if (typeof v !== 'string' || v === '') throw new ApiError('ValidationException', `1 validation error detected: Value null at '${field[0].toLowerCase()}${field.slice(1)}' failed to satisfy constraint: Member must not be null`);
    return v;
  }

  /** The pattern parsed and validated; an invalid one is InvalidEventPatternException with EventBridge's reason. */
  function checkPattern(text: string): unknown {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text; // compilePattern reports the invalid JSON in EventBridge's words
    }
    try {
      compilePattern(parsed);
      return parsed;
    } catch (err) {
      if (err instanceof InvalidEventPatternError) throw new ApiError('InvalidEventPatternException', err.message);
      throw err;
    }
  }

  /** A pattern longer than the quota is refused (the message names both sizes and what to do). */
  function checkPatternSize(size: number, rule: string): void {
    if (size > patternQuota) {
      throw new ApiError(
        'LimitExceededException',
        `Rule ${rule}: the event pattern is ${size} characters, over the account's "Event pattern size" quota of ${patternQuota}; narrow the pattern or raise the quota (Service Quotas, Amazon EventBridge)`,
      );
    }
  }

  function findApiRule(input: Record<string, unknown>): ApiRule {
    const name = requireString(input, input.Rule !== undefined ? 'Rule' : 'Name');
    const bus = busName(input.EventBusName as string | undefined);
    const rule = apiRules.get(ruleKey(bus, name));
    if (!rule) throw new ApiError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus ${bus}.`);
    return rule;
  }

  const operations: Record<string, (input: Record<string, unknown>) => unknown> = {
    PutEvents: (input) => putEvents(input.Entries as PutEventsEntryInput[]),
    TestEventPattern: (input) => {
      const patternText = requireString(input, 'EventPattern');
      const eventText = requireString(input, 'Event');
      const pattern = checkPattern(patternText);
      let event: unknown;
      try {
        event = JSON.parse(eventText);
      } catch {
        throw new ApiError('ValidationException', 'Parameter Event is not valid. Reason: Event is not valid JSON.');
      }
      const required = ['id', 'account', 'source', 'time', 'region', 'detail-type'];
      const missing = typeof event === 'object' && event !== null ? required.filter((f) => !(f in event)) : required;
      if (missing.length) throw new ApiError('ValidationException', `Parameter Event is not valid. Reason: Provided Event is missing required field(s): ${missing.join(', ')}.`);
      return { Result: matches(pattern, event) };
    },
    PutRule: (input) => {
      const name = requireString(input, 'Name');
      const bus = busName(input.EventBusName as string | undefined);
      if (!buses.has(bus)) throw new ApiError('ResourceNotFoundException', `Event bus ${bus} does not exist.`);
      const pattern = input.EventPattern as string | undefined;
      if (!pattern && !input.ScheduleExpression) throw new ApiError('ValidationException', 'Parameter(s) EventPattern or ScheduleExpression must be specified.');
      const parsedPattern = pattern ? checkPattern(pattern) : undefined;
      if (pattern) checkPatternSize(pattern.length, name);
      const existing = apiRules.get(ruleKey(bus, name));
      apiRules.set(ruleKey(bus, name), {
        Name: name,
        EventBusName: bus,
        EventPattern: pattern,
        parsedPattern,
        ScheduleExpression: input.ScheduleExpression as string | undefined,
        State: (input.State as string) ?? 'ENABLED',
        Description: input.Description as string | undefined,
        Targets: existing?.Targets ?? [],
      });
      return { RuleArn: ruleArn(bus, name) };
    },
    DeleteRule: (input) => {
      const rule = findApiRule(input);
      if (rule.Targets.length) throw new ApiError('ValidationException', 'Rule can\'t be deleted since it has targets.');
      apiRules.delete(ruleKey(rule.EventBusName, rule.Name));
      return {};
    },
    DescribeRule: (input) => {
      const r = findApiRule(input);
      return { Name: r.Name, Arn: ruleArn(r.EventBusName, r.Name), EventPattern: r.EventPattern, ScheduleExpression: r.ScheduleExpression, State: r.State, Description: r.Description, EventBusName: r.EventBusName };
    },
    ListRules: (input) => {
      const bus = busName(input.EventBusName as string | undefined);
      const prefix = (input.NamePrefix as string | undefined) ?? '';
      const rules: Array<Record<string, unknown>> = [];
      for (const r of apiRules.values()) {
        if (r.EventBusName === bus && r.Name.startsWith(prefix)) {
          rules.push({ Name: r.Name, Arn: ruleArn(bus, r.Name), EventPattern: r.EventPattern, ScheduleExpression: r.ScheduleExpression, State: r.State, Description: r.Description, EventBusName: bus });
        }
      }
      for (const r of localRules.values()) {
        if (busName(r.eventBusName) === bus && r.name.startsWith(prefix)) {
          rules.push({ Name: r.name, Arn: ruleArn(bus, r.name), EventPattern: JSON.stringify(r.pattern), State: 'ENABLED', EventBusName: bus, Description: 'local target (in-process)' });
        }
      }
      rules.sort((a, b) => String(a.Name).localeCompare(String(b.Name)));
      const start = input.NextToken ? Number(input.NextToken) : 0;
      const limit = typeof input.Limit === 'number' && input.Limit > 0 ? input.Limit : 100;
      const page = rules.slice(start, start + limit);
      return { Rules: page, ...(start + limit < rules.length ? { NextToken: String(start + limit) } : {}) };
    },
    PutTargets: (input) => {
      const rule = findApiRule(input);
      const targets = (input.Targets as Array<Record<string, unknown>>) ?? [];
      if (!Array.isArray(targets) || targets.length === 0 || targets.length > 10) {
        throw new ApiError('ValidationException', "1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length between 1 and 10");
      }
      const failed: Array<Record<string, string>> = [];
      for (const t of targets) {
        if (typeof t.Id !== 'string' || typeof t.Arn !== 'string') {
          failed.push({ TargetId: String(t.Id ?? ''), ErrorCode: 'ValidationException', ErrorMessage: 'Id and Arn are required.' });
          continue;
        }
        rule.Targets = rule.Targets.filter((x) => x.Id !== t.Id).concat([t]);
      }
      return { FailedEntryCount: failed.length, FailedEntries: failed };
    },
    RemoveTargets: (input) => {
      const rule = findApiRule(input);
      const ids = new Set((input.Ids as string[]) ?? []);
      rule.Targets = rule.Targets.filter((t) => !ids.has(t.Id as string));
      return { FailedEntryCount: 0, FailedEntries: [] };
    },
    ListTargetsByRule: (input) => ({ Targets: findApiRule(input).Targets }),
    DescribeEventBus: (input) => {
      const bus = busName(input.Name as string | undefined);
      if (!buses.has(bus)) throw new ApiError('ResourceNotFoundException', `Event bus ${bus} does not exist.`);
      return { Name: bus, Arn: busArn(bus) };
    },
    CreateEventBus: (input) => {
      const name = requireString(input, 'Name');
      if (buses.has(name)) throw new ApiError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
      buses.add(name);
      return { EventBusArn: busArn(name) };
    },
    ListEventBuses: () => ({ EventBuses: [...buses].sort().map((b) => ({ Name: b, Arn: busArn(b) })) }),
  };

  function send(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/x-amz-json-1.1',
      'Content-Length': Buffer.byteLength(text),
      'x-amzn-RequestId': randomUUID(),
      ...(errorType ? { 'x-amzn-ErrorType': errorType } : {}),
    });
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    if (req.method !== 'POST' || !target.startsWith('AWSEvents.')) {
      send(res, 400, { __type: 'UnknownOperationException', message: `Unsupported request ${req.method} ${req.url} ${target || '(no X-Amz-Target)'}` }, 'UnknownOperationException');
      return;
    }
    const op = operations[target.slice('AWSEvents.'.length)];
    if (!op) {
      send(res, 400, { __type: 'UnknownOperationException', message: `The local EventBridge does not implement ${target}` }, 'UnknownOperationException');
      return;
    }
    let input: Record<string, unknown>;
    try {
      const text = Buffer.concat(chunks).toString('utf8');
      input = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      send(res, 400, { __type: 'SerializationException', message: 'Request body is not valid JSON' }, 'SerializationException');
      return;
    }
    try {
      send(res, 200, op(input));
    } catch (err) {
      if (err instanceof ApiError) send(res, err.status, { __type: err.type, message: err.message }, err.type);
      else send(res, 500, { __type: 'InternalException', message: err instanceof Error ? err.message : String(err) }, 'InternalException');
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
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
    account,
    region,
    putRule(r) {
      compilePattern(r.pattern); // throws InvalidEventPatternError with EventBridge's reason
      checkPatternSize(JSON.stringify(r.pattern).length, r.name);
      const bus = busName(r.eventBusName);
      buses.add(bus);
      localRules.set(ruleKey(bus, r.name), r);
    },
    deleteRule(name, eventBusName) {
      localRules.delete(ruleKey(busName(eventBusName), name));
    },
    onEvent(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    onTargetError(cb) {
      errorListeners.add(cb);
      return () => errorListeners.delete(cb);
    },
    received: () => [...accepted],
    matchedBy: (id) => matched.get(id) ?? [],
    injectFailures(f) {
      if (!Number.isInteger(f.count) || f.count < 1) throw new Error(`injectFailures: count must be a positive integer, got ${f.count}`);
      failures.push({ code: f.code, count: f.count });
    },
    putEvents(entries) {
      return putEvents(entries);
    },
    async idle() {
      while (pending.size) await Promise.allSettled([...pending]);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
