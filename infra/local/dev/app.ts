/**
 * The local wiring model of a resolved serverless.yml (pure): functions, their eventBridge/sqs/schedule/
 * cloudwatchLog events, AWS::Events::Rule resources targeting queues or functions, and AWS::SQS::Queue resources
 * with their redrive policies. `Ref`/`Fn::GetAtt` are resolved to local names: an event bus to its name, a queue to
 * its logical id, a function to its name. ./serverless.ts reads and resolves the file.
 */
import { rateMs } from './schedule.ts';

export class ServerlessConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServerlessConfigError';
  }
}

export interface RetryConfig {
  maximumRetryAttempts: number;
  maximumEventAgeSeconds: number;
}

export interface LocalFunction {
  name: string;
  /** `functions/clone/handler.handler` as written in serverless.yml. */
  handler: string;
  /** Module path relative to the service directory, without extension (functions/clone/handler). */
  modulePath: string;
  exportName: string;
  timeoutSeconds: number;
  memorySize: number;
  environment: Record<string, string>;
  /** Lambda asynchronous invocation retries (function-level maximumRetryAttempts / maximumEventAge). */
  asyncRetry: RetryConfig;
  /** destinations.onFailure, as a local name (queue logical id or ARN). */
  onFailure?: string;
}

export type RuleTarget = { type: 'function'; function: string } | { type: 'queue'; queue: string };

export interface LocalRule {
  name: string;
  eventBusName: string;
  pattern: object;
  target: RuleTarget;
  /** EventBridge target retry policy (delivery to the target). */
  retryPolicy: RetryConfig;
  deadLetterQueue?: string;
  /** Constant input delivered instead of the event (`input` / Targets[].Input). */
  input?: unknown;
  source: string;
}

export interface LocalQueue {
  logicalId: string;
  name: string;
  visibilityTimeoutSeconds: number;
  redrive?: { deadLetterQueue: string; maxReceiveCount: number };
}

export interface LocalSqsEvent {
  function: string;
  queue: string;
  batchSize: number;
  maximumBatchingWindowSeconds: number;
  reportBatchItemFailures: boolean;
  maximumConcurrency?: number;
  enabled: boolean;
}

export interface LocalSchedule {
  function: string;
  name: string;
  /** rate in milliseconds; null for cron(...) (and for an expression parseSchedule refuses). */
  rateMs: number | null;
  expression: string;
  input?: unknown;
  enabled: boolean;
}

export interface LocalLogSubscription {
  function: string;
  name: string;
  logGroup: string;
  filterPattern: string;
}

export interface LocalApp {
  service: string;
  stage: string;
  region: string;
  accountId: string;
  params: Record<string, unknown>;
  functions: LocalFunction[];
  rules: LocalRule[];
  queues: LocalQueue[];
  sqsEvents: LocalSqsEvent[];
  schedules: LocalSchedule[];
  logSubscriptions: LocalLogSubscription[];
  /** Buses named by rules and events. */
  buses: string[];
  /** Things the local runner read but does not reproduce (said once at startup). */
  notes: string[];
}

export type Res = Record<string, { Type?: string; Properties?: Record<string, any> }>;
type Ctx = { stage: string; region: string; accountId: string; params: Record<string, unknown> };

/** What the events and rules add up to. */
interface Wiring {
  rules: LocalRule[];
  sqsEvents: LocalSqsEvent[];
  schedules: LocalSchedule[];
  logSubscriptions: LocalLogSubscription[];
  notes: string[];
}

interface Refs {
  /** A CloudFormation reference or ARN -> a local name ('bus:<name>', 'queue:<logicalId>', 'function:<name>'). */
  ref(v: unknown, where: string): string;
  /** A reference that must be of `kind`; its local name. */
  local(v: unknown, where: string, kind: 'bus' | 'queue' | 'function'): string;
}

function references(cfg: Record<string, any>, resources: Res): Refs {
  const functionNames = new Map<string, string>(); // logical id (CloneLambdaFunction) -> function name
  for (const name of Object.keys(cfg.functions ?? {})) {
    functionNames.set(`${name[0].toUpperCase()}${name.slice(1).replace(/[-_](\w)/g, (_: string, c: string) => c.toUpperCase())}LambdaFunction`, name);
  }
  const queueByName = new Map<string, string>();
  for (const [id, r] of Object.entries(resources)) if (r.Type === 'AWS::SQS::Queue') queueByName.set(String(r.Properties?.QueueName ?? id), id);

  const ref = (v: unknown, where: string): string => {
    if (typeof v === 'string') {
      const sqs = /^arn:[^:]+:sqs:[^:]*:[^:]*:(.+)$/.exec(v);
      if (sqs) return `queue:${queueByName.get(sqs[1]) ?? sqs[1]}`;
      const bus = /^arn:[^:]+:events:[^:]*:[^:]*:event-bus\/(.+)$/.exec(v);
      if (bus) return `bus:${bus[1]}`;
      const fn = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:(.+)$/.exec(v);
      if (fn) return `function:${fn[1]}`;
      return `bus:${v}`;
    }
    if (v && typeof v === 'object') {
      const o = v as Record<string, any>;
      const id: string | undefined = o.Ref ?? (Array.isArray(o['Fn::GetAtt']) ? o['Fn::GetAtt'][0] : undefined);
      if (id) {
        if (functionNames.has(id)) return `function:${functionNames.get(id)}`;
        const r = resources[id];
        if (!r) throw new ServerlessConfigError(`serverless.yml: ${where}: refers to resource ${id}, which is not defined under resources`);
        if (r.Type === 'AWS::Events::EventBus') return `bus:${r.Properties?.Name ?? id}`;
        if (r.Type === 'AWS::SQS::Queue') return `queue:${id}`;
        throw new ServerlessConfigError(`serverless.yml: ${where}: ${id} is a ${r.Type}; the local runner wires event buses, SQS queues and functions`);
      }
    }
    throw new ServerlessConfigError(`serverless.yml: ${where}: expected an ARN, a name, { Ref: … } or { Fn::GetAtt: […] }, got ${JSON.stringify(v)}`);
  };
  const local = (v: unknown, where: string, kind: 'bus' | 'queue' | 'function'): string => {
    const r = ref(v, where);
    if (!r.startsWith(`${kind}:`)) throw new ServerlessConfigError(`serverless.yml: ${where}: expected ${kind === 'bus' ? 'an event bus' : kind === 'queue' ? 'an SQS queue' : 'a function'}, got ${r.replace(':', ' ')}`);
    return r.slice(kind.length + 1);
  };
  return { ref, local };
}

function queuesOf(resources: Res, { local }: Refs): LocalQueue[] {
  const queues: LocalQueue[] = [];
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::SQS::Queue') continue;
    const p = r.Properties ?? {};
    const redrive = p.RedrivePolicy;
    queues.push({
      logicalId: id,
      name: String(p.QueueName ?? id),
      visibilityTimeoutSeconds: Number(p.VisibilityTimeout ?? 30),
      ...(redrive ? { redrive: { deadLetterQueue: local(redrive.deadLetterTargetArn, `resources.${id}.Properties.RedrivePolicy.deadLetterTargetArn`, 'queue'), maxReceiveCount: Number(redrive.maxReceiveCount ?? 10) } } : {}),
    });
  }
  return queues;
}

function functionOf(name: string, fn: Record<string, any>, provider: Record<string, any>, { ref }: Refs): LocalFunction {
  const where = `functions.${name}`;
  if (typeof fn?.handler !== 'string') throw new ServerlessConfigError(`serverless.yml: ${where}.handler: required (e.g. functions/${name}/handler.handler)`);
  const dot = fn.handler.lastIndexOf('.');
  if (dot < 0) throw new ServerlessConfigError(`serverless.yml: ${where}.handler: "${fn.handler}" must be <module path>.<export name>`);
  const onFailure = fn.destinations?.onFailure;
  return {
    name,
    handler: fn.handler,
    modulePath: fn.handler.slice(0, dot),
    exportName: fn.handler.slice(dot + 1),
    timeoutSeconds: Number(fn.timeout ?? provider.timeout ?? 6),
    memorySize: Number(fn.memorySize ?? provider.memorySize ?? 1024),
    environment: Object.fromEntries(Object.entries({ ...(provider.environment ?? {}), ...(fn.environment ?? {}) }).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
    asyncRetry: { maximumRetryAttempts: Number(fn.maximumRetryAttempts ?? 2), maximumEventAgeSeconds: Number(fn.maximumEventAge ?? 21600) },
    ...(onFailure ? { onFailure: ref(typeof onFailure === 'object' && 'arn' in onFailure ? onFailure.arn : onFailure, `${where}.destinations.onFailure`) } : {}),
  };
}

/** One function's events: rules, SQS event sources, schedules, log subscriptions (or a note). */
function eventsOf(name: string, fn: Record<string, any>, service: string, ctx: Ctx, { local }: Refs, w: Wiring): void {
  const where = `functions.${name}`;
  const { rules, sqsEvents, schedules, logSubscriptions, notes } = w;
  (fn.events ?? []).forEach((ev: Record<string, any>, i: number) => {
    const ew = `${where}.events[${i}]`;
    const [type] = Object.keys(ev);
    const spec = ev[type];
    switch (type) {
      case 'eventBridge': {
        const bus = spec.eventBus === undefined ? 'default' : local(spec.eventBus, `${ew}.eventBridge.eventBus`, 'bus');
        const retry = spec.retryPolicy ?? {};
        const base = {
          eventBusName: bus,
          target: { type: 'function' as const, function: name },
          retryPolicy: { maximumRetryAttempts: Number(retry.maximumRetryAttempts ?? 185), maximumEventAgeSeconds: Number(retry.maximumEventAge ?? 86400) },
          ...(spec.deadLetterQueueArn ? { deadLetterQueue: local(spec.deadLetterQueueArn, `${ew}.eventBridge.deadLetterQueueArn`, 'queue') } : {}),
          ...(spec.input !== undefined ? { input: spec.input } : {}),
          source: ew,
        };
        if (spec.schedule) {
          schedules.push({ function: name, name: String(spec.name ?? `${name}-schedule-${i}`), expression: String(spec.schedule), rateMs: rateMs(String(spec.schedule)), input: spec.input, enabled: spec.enabled !== false });
          break;
        }
        if (spec.pattern === undefined || spec.pattern === null) throw new ServerlessConfigError(`serverless.yml: ${ew}.eventBridge.pattern: required (the rendered events/patterns/${name}.json is missing? run \`npm run ripple -- render patterns\`)`);
        if (spec.inputTransformer || spec.inputPath) notes.push(`${ew}: inputTransformer/inputPath are not applied locally; the target receives the event`);
        rules.push({ name: String(spec.name ?? `${service}-${ctx.stage}-${name}-rule-${i + 1}`), pattern: spec.pattern, ...base });
        break;
      }
      case 'sqs': {
        const s = typeof spec === 'string' ? { arn: spec } : spec;
        const responseTypes = [s.functionResponseType].flat().filter(Boolean);
        sqsEvents.push({
          function: name,
          queue: local(s.arn, `${ew}.sqs.arn`, 'queue'),
          batchSize: Number(s.batchSize ?? 10),
          maximumBatchingWindowSeconds: Number(s.maximumBatchingWindow ?? 0),
          reportBatchItemFailures: responseTypes.includes('ReportBatchItemFailures'),
          ...(s.maximumConcurrency !== undefined ? { maximumConcurrency: Number(s.maximumConcurrency) } : {}),
          enabled: s.enabled !== false,
        });
        break;
      }
      case 'schedule': {
        const s = typeof spec === 'string' ? { rate: spec } : spec;
        for (const expr of [s.rate].flat()) {
          schedules.push({ function: name, name: String(s.name ?? `${service}-${ctx.stage}-${name}-schedule-${i + 1}`), expression: String(expr), rateMs: rateMs(String(expr)), input: s.input, enabled: s.enabled !== false });
        }
        break;
      }
      case 'cloudwatchLog': {
        const s = typeof spec === 'string' ? { logGroup: spec } : spec;
        const filter = s.filter ?? '';
        if (typeof filter !== 'string') throw new ServerlessConfigError(`serverless.yml: ${ew}.cloudwatchLog.filter: must be a string filter pattern, got ${JSON.stringify(filter)}`);
        logSubscriptions.push({ function: name, name: `${service}-${ctx.stage}-${name}-cloudwatchLog-${i + 1}`, logGroup: String(s.logGroup), filterPattern: filter });
        break;
      }
      default:
        notes.push(`${ew}: ${type} events are not wired locally`);
    }
  });
}

/** AWS::Events::Rule resources with an event pattern, per target. */
function resourceRules(resources: Res, { ref, local }: Refs, w: Wiring): void {
  const { rules, notes } = w;
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Events::Rule') continue;
    const p = r.Properties ?? {};
    const where = `resources.${id}`;
    if (p.State && p.State !== 'ENABLED') continue;
    if (!p.EventPattern) {
      notes.push(`${where}: scheduled rules from resources are not run locally`);
      continue;
    }
    const bus = p.EventBusName === undefined ? 'default' : local(p.EventBusName, `${where}.Properties.EventBusName`, 'bus');
    const pattern = typeof p.EventPattern === 'string' ? JSON.parse(p.EventPattern) : p.EventPattern;
    (p.Targets ?? []).forEach((t: Record<string, any>, i: number) => {
      const tw = `${where}.Properties.Targets[${i}]`;
      const target = ref(t.Arn, `${tw}.Arn`);
      const retry = t.RetryPolicy ?? {};
      const base = {
        name: String(p.Name ?? id),
        eventBusName: bus,
        pattern,
        retryPolicy: { maximumRetryAttempts: Number(retry.MaximumRetryAttempts ?? 185), maximumEventAgeSeconds: Number(retry.MaximumEventAgeInSeconds ?? 86400) },
        ...(t.DeadLetterConfig?.Arn ? { deadLetterQueue: local(t.DeadLetterConfig.Arn, `${tw}.DeadLetterConfig.Arn`, 'queue') } : {}),
        ...(t.Input !== undefined ? { input: typeof t.Input === 'string' ? JSON.parse(t.Input) : t.Input } : {}),
        source: tw,
      };
      if (target.startsWith('queue:')) rules.push({ ...base, target: { type: 'queue', queue: target.slice(6) } });
      else if (target.startsWith('function:')) rules.push({ ...base, target: { type: 'function', function: target.slice(9) } });
      else notes.push(`${tw}: target ${target} is not wired locally`);
    });
  }

}

/** Turn a resolved serverless.yml into the local wiring model (pure). */
export function toLocalApp(cfg: Record<string, any>, resources: Res, ctx: Ctx): LocalApp {
  const service = typeof cfg.service === 'string' ? cfg.service : String(cfg.service?.name ?? 'service');
  const provider = cfg.provider ?? {};
  const refs = references(cfg, resources);
  const queues = queuesOf(resources, refs);
  const w: Wiring = { rules: [], sqsEvents: [], schedules: [], logSubscriptions: [], notes: [] };
  const functions: LocalFunction[] = [];
  for (const [name, fn] of Object.entries<Record<string, any>>(cfg.functions ?? {})) {
    functions.push(functionOf(name, fn, provider, refs));
    eventsOf(name, fn, service, ctx, refs, w);
  }
  resourceRules(resources, refs, w);
  const { rules, sqsEvents, schedules, logSubscriptions, notes } = w;
  for (const q of sqsEvents) if (!queues.some((x) => x.logicalId === q.queue)) throw new ServerlessConfigError(`serverless.yml: functions.${q.function} sqs event: queue ${q.queue} is not defined under resources`);
  const buses = [...new Set(rules.map((r) => r.eventBusName))];
  return { service, stage: ctx.stage, region: ctx.region, accountId: ctx.accountId, params: ctx.params, functions, rules, queues, sqsEvents, schedules, logSubscriptions, buses, notes };
}

