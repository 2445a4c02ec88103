/**
 * The EventBridge wire protocol (AWS JSON 1.1, `X-Amz-Target: AWSEvents.<Operation>`) over a Bus (./bus.ts).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, busName, type ApiRule, type Bus, type PutEventsEntryInput } from './bus.ts';
import { matches } from './pattern.ts';

function requireString(input: Record<string, unknown>, field: string): string {
  const v = input[field];
  if (typeof v !== 'string' || v === '') throw new ApiError('ValidationException', `1 validation error detected: Value null at '${field[0].toLowerCase()}${field.slice(1)}' failed to satisfy constraint: Member must not be null`);
  return v;
}

function findApiRule(bus: Bus, input: Record<string, unknown>): ApiRule {
  const name = requireString(input, input.Rule !== undefined ? 'Rule' : 'Name');
  const busN = busName(input.EventBusName as string | undefined);
  const rule = bus.apiRules.get(bus.ruleKey(busN, name));
  if (!rule) throw new ApiError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus ${busN}.`);
  return rule;
}

/** The EventBridge operations (AWS JSON 1.1 input in, output out; ApiError for AWS's errors). */
export const OPERATIONS: Record<string, (b: Bus, input: Record<string, unknown>) => unknown> = {
  PutEvents: (b, input) => b.putEvents(input.Entries as PutEventsEntryInput[]),
  TestEventPattern: (b, input) => {
    const patternText = requireString(input, 'EventPattern');
    const eventText = requireString(input, 'Event');
    const pattern = b.checkPattern(patternText);
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
  PutRule: (b, input) => {
    const name = requireString(input, 'Name');
    const bus = busName(input.EventBusName as string | undefined);
    if (!b.buses.has(bus)) throw new ApiError('ResourceNotFoundException', `Event bus ${bus} does not exist.`);
    const pattern = input.EventPattern as string | undefined;
    if (!pattern && !input.ScheduleExpression) throw new ApiError('ValidationException', 'Parameter(s) EventPattern or ScheduleExpression must be specified.');
    const parsedPattern = pattern ? b.checkPattern(pattern) : undefined;
    if (pattern) b.checkPatternSize(pattern.length, name);
    const existing = b.apiRules.get(b.ruleKey(bus, name));
    b.apiRules.set(b.ruleKey(bus, name), {
      Name: name,
      EventBusName: bus,
      EventPattern: pattern,
      parsedPattern,
      ScheduleExpression: input.ScheduleExpression as string | undefined,
      State: (input.State as string) ?? 'ENABLED',
      Description: input.Description as string | undefined,
      Targets: existing?.Targets ?? [],
    });
    return { RuleArn: b.ruleArn(bus, name) };
  },
  DeleteRule: (b, input) => {
    const rule = findApiRule(b, input);
    if (rule.Targets.length) throw new ApiError('ValidationException', 'Rule can\'t be deleted since it has targets.');
    b.apiRules.delete(b.ruleKey(rule.EventBusName, rule.Name));
    return {};
  },
  DescribeRule: (b, input) => {
    const r = findApiRule(b, input);
    return { Name: r.Name, Arn: b.ruleArn(r.EventBusName, r.Name), EventPattern: r.EventPattern, ScheduleExpression: r.ScheduleExpression, State: r.State, Description: r.Description, EventBusName: r.EventBusName };
  },
  ListRules: (b, input) => {
    const bus = busName(input.EventBusName as string | undefined);
    const prefix = (input.NamePrefix as string | undefined) ?? '';
    const rules: Array<Record<string, unknown>> = [];
    for (const r of b.apiRules.values()) {
      if (r.EventBusName === bus && r.Name.startsWith(prefix)) {
        rules.push({ Name: r.Name, Arn: b.ruleArn(bus, r.Name), EventPattern: r.EventPattern, ScheduleExpression: r.ScheduleExpression, State: r.State, Description: r.Description, EventBusName: bus });
      }
    }
    for (const r of b.localRules.values()) {
      if (busName(r.eventBusName) === bus && r.name.startsWith(prefix)) {
        rules.push({ Name: r.name, Arn: b.ruleArn(bus, r.name), EventPattern: JSON.stringify(r.pattern), State: 'ENABLED', EventBusName: bus, Description: 'local target (in-process)' });
      }
    }
    rules.sort((a, b) => String(a.Name).localeCompare(String(b.Name)));
    const start = input.NextToken ? Number(input.NextToken) : 0;
    const limit = typeof input.Limit === 'number' && input.Limit > 0 ? input.Limit : 100;
    const page = rules.slice(start, start + limit);
    return { Rules: page, ...(start + limit < rules.length ? { NextToken: String(start + limit) } : {}) };
  },
  PutTargets: (b, input) => {
    const rule = findApiRule(b, input);
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
  RemoveTargets: (b, input) => {
    const rule = findApiRule(b, input);
    const ids = new Set((input.Ids as string[]) ?? []);
    rule.Targets = rule.Targets.filter((t) => !ids.has(t.Id as string));
    return { FailedEntryCount: 0, FailedEntries: [] };
  },
  ListTargetsByRule: (b, input) => ({ Targets: findApiRule(b, input).Targets }),
  DescribeEventBus: (b, input) => {
    const bus = busName(input.Name as string | undefined);
    if (!b.buses.has(bus)) throw new ApiError('ResourceNotFoundException', `Event bus ${bus} does not exist.`);
    return { Name: bus, Arn: b.busArn(bus) };
  },
  CreateEventBus: (b, input) => {
    const name = requireString(input, 'Name');
    if (b.buses.has(name)) throw new ApiError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
    b.buses.add(name);
    return { EventBusArn: b.busArn(name) };
  },
  ListEventBuses: (b) => ({ EventBuses: [...b.buses].sort().map((n) => ({ Name: n, Arn: b.busArn(n) })) }),
};

export function send(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.1',
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
    ...(errorType ? { 'x-amzn-ErrorType': errorType } : {}),
  });
  res.end(text);
}

/** One HTTP request: X-Amz-Target names the operation; the body is its JSON input. */
export async function handle(bus: Bus, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const target = String(req.headers['x-amz-target'] ?? '');
  if (req.method !== 'POST' || !target.startsWith('AWSEvents.')) {
    send(res, 400, { __type: 'UnknownOperationException', message: `Unsupported request ${req.method} ${req.url} ${target || '(no X-Amz-Target)'}` }, 'UnknownOperationException');
    return;
  }
  const op = OPERATIONS[target.slice('AWSEvents.'.length)];
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
    send(res, 200, op(bus, input));
  } catch (err) {
    if (err instanceof ApiError) send(res, err.status, { __type: err.type, message: err.message }, err.type);
    else send(res, 500, { __type: 'InternalException', message: err instanceof Error ? err.message : String(err) }, 'InternalException');
  }
}

