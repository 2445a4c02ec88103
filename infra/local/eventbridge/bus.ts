/**
 * The local EventBridge's state and rules, apart from HTTP: buses, rules (API-created: recorded and matched;
 * putRule(): in-process targets), PutEvents with EventBridge's validation and limits, delivery, injected failures.
 * ./api.ts speaks the wire protocol over it; ./index.ts serves it.
 */
import { randomUUID } from 'node:crypto';
import { compilePattern, InvalidEventPatternError, matches } from './pattern.ts';

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

export const MAX_ENTRIES = 10;
/** PutEvents entry size limit (1 MB since January 2026; see docs/local.md). */
export const MAX_ENTRY_BYTES = 1024 * 1024;

export class ApiError extends Error {
  readonly type: string;
  readonly status: number;
  constructor(type: string, message: string, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

export interface ApiRule {
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

export function busName(nameOrArn: string | undefined): string {
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


/** Why EventBridge would refuse one PutEvents entry ([ErrorCode, ErrorMessage]), or the parsed detail and time. */
function checkEntry(e: PutEventsEntryInput): [string, string] | { detail: object; time: Date } {
  if (typeof e?.Source !== 'string' || e.Source === '') return ['InvalidArgument', 'Parameter Source is not valid. Reason: Source is a required argument.'];
  if (typeof e.DetailType !== 'string' || e.DetailType === '') return ['InvalidArgument', 'Parameter DetailType is not valid. Reason: DetailType is a required argument.'];
  if (typeof e.Detail !== 'string' || e.Detail === '') return ['InvalidArgument', 'Parameter Detail is not valid. Reason: Detail is a required argument.'];
  const size = entrySize(e);
  if (size > MAX_ENTRY_BYTES) return ['InvalidArgument', `Parameter Entry is not valid. Reason: entry size ${size} bytes is over the limit of ${MAX_ENTRY_BYTES} bytes.`];
  let detail: unknown;
  try {
    detail = JSON.parse(e.Detail);
  } catch {
    detail = undefined;
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) return ['MalformedDetail', 'Detail is malformed.'];
  const time = toDate(e.Time);
  if (!time) return ['InvalidArgument', 'Parameter Time is not valid. Reason: Time must be a timestamp.'];
  return { detail, time };
}

export class Bus {
  readonly account: string;
  readonly region: string;
  readonly patternQuota: number;
  readonly localRules = new Map<string, LocalRule>();
  readonly apiRules = new Map<string, ApiRule>();
  readonly buses = new Set<string>(['default']);
  readonly accepted: DeliveredEvent[] = [];
  readonly matched = new Map<string, string[]>();
  readonly listeners = new Set<(e: object) => void>();
  readonly errorListeners = new Set<(rule: string, e: object, err: unknown) => void>();
  readonly pending = new Set<Promise<void>>();
  readonly failures: Array<{ code: string; count: number }> = [];

  constructor(account: string, region: string, patternQuota: number) {
    this.account = account;
    this.region = region;
    this.patternQuota = patternQuota;
  }

  ruleKey(bus: string, name: string): string {
    return `${bus}/${name}`;
  }

  ruleArn(bus: string, name: string): string {
    return `arn:aws:events:${this.region}:${this.account}:rule/${bus === 'default' ? '' : `${bus}/`}${name}`;
  }

  busArn(bus: string): string {
    return `arn:aws:events:${this.region}:${this.account}:event-bus/${bus}`;
  }

  private nextInjectedFailure(): string | null {
    const f = this.failures[0];
    if (!f) return null;
    f.count--;
    if (f.count <= 0) this.failures.shift();
    return f.code;
  }

  /** Rules matching an accepted event: recorded (matchedBy); putRule() targets invoked, each with its own copy. */
  deliver(event: DeliveredEvent, bus: string): void {
    const names: string[] = [];
    for (const rule of this.apiRules.values()) {
      if (rule.EventBusName === bus && rule.State === 'ENABLED' && rule.parsedPattern !== undefined && matches(rule.parsedPattern, event)) names.push(rule.Name);
    }
    const targets: LocalRule[] = [];
    for (const rule of this.localRules.values()) {
      if (busName(rule.eventBusName) === bus && matches(rule.pattern, event)) {
        names.push(rule.name);
        targets.push(rule);
      }
    }
    this.matched.set(event.id, names);
    for (const cb of this.listeners) cb(event);
    for (const rule of targets) this.invoke(rule, JSON.parse(JSON.stringify(event)) as object);
  }

  private invoke(rule: LocalRule, copy: object): void {
    const p = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => rule.target(copy))
      .catch((err: unknown) => {
        for (const cb of this.errorListeners) cb(rule.name, copy, err);
        if (this.errorListeners.size === 0) console.error(`local EventBridge: target of rule ${rule.name} failed: ${err instanceof Error ? err.message : String(err)}`);
      })
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  putEvents(entries: PutEventsEntryInput[]): { FailedEntryCount: number; Entries: PutEventsResultEntry[] } {
    if (!Array.isArray(entries) || entries.length < 1) {
      throw new ApiError('ValidationException', "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null");
    }
    if (entries.length > MAX_ENTRIES) {
      throw new ApiError('ValidationException', `1 validation error detected: Value '[${entries.length} entries]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES}`);
    }
    const results: PutEventsResultEntry[] = [];
    const toDeliver: Array<[DeliveredEvent, string]> = [];
    for (const e of entries) {
      const injected = this.nextInjectedFailure();
      const checked: [string, string] | { detail: object; time: Date } = injected ? [injected, injected === 'ThrottlingException' ? 'Rate exceeded' : 'Internal Failure (injected by the local bus)'] : checkEntry(e);
      if (Array.isArray(checked)) {
        results.push({ ErrorCode: checked[0], ErrorMessage: checked[1] });
        continue;
      }
      // buses come into existence on first use (rules and senders need no CreateEventBus call locally)
      const bus = busName(e.EventBusName);
      this.buses.add(bus);
      const event: DeliveredEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': e.DetailType!,
        source: e.Source!,
        account: this.account,
        time: isoSeconds(checked.time),
        region: this.region,
        resources: Array.isArray(e.Resources) ? e.Resources.filter((r) => typeof r === 'string') : [],
        detail: checked.detail,
      };
      Object.defineProperty(event, 'eventBusName', { value: bus, enumerable: false });
      results.push({ EventId: event.id });
      this.accepted.push(event);
      toDeliver.push([event, bus]);
    }
    for (const [event, bus] of toDeliver) this.deliver(event, bus);
    return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
  }

  /** The pattern parsed and validated; an invalid one is InvalidEventPatternException with EventBridge's reason. */
  checkPattern(text: string): unknown {
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
  checkPatternSize(size: number, rule: string): void {
    if (size > this.patternQuota) {
      throw new ApiError(
        'LimitExceededException',
        `Rule ${rule}: the event pattern is ${size} characters, over the account's "Event pattern size" quota of ${this.patternQuota}; narrow the pattern or raise the quota (Service Quotas, Amazon EventBridge)`,
      );
    }
  }

  /** An in-process rule (putRule()): its target is called for every matching event. */
  putLocalRule(r: LocalRule): void {
    compilePattern(r.pattern); // throws InvalidEventPatternError with EventBridge's reason
    this.checkPatternSize(JSON.stringify(r.pattern).length, r.name);
    const bus = busName(r.eventBusName);
    this.buses.add(bus);
    this.localRules.set(this.ruleKey(bus, r.name), r);
  }

  async idle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }
}
