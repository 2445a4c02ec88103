/**
 * CloudWatch Logs Insights queries over the handlers' logs. Pure: strings in, strings out. Used by `ripple logs`
 * (cli/commands/logs.ts) and by the saved AWS::Logs::QueryDefinitions serverless.yml deploys
 * (infra/aws/observability.cjs), so the console and the CLI ask the same questions.
 *
 * The handlers log JSON lines (Powertools Logger): `level`, `message`, `timestamp`, `function_name`,
 * `correlation_id` (the EventBridge event id), and ripple's own keys (docs/logs.md). The filters match those
 * keys and, as a fallback, the raw line (`@message like "ns/name"`), so a line that names an object in any field
 * is found.
 */

import { HANDLERS, type HandlerName } from '../../core/constants.ts';

export { HANDLERS };
export type Handler = HandlerName;

/** Fields shown for every matching line, in this order (absent ones are simply empty). */
export const DISPLAY_FIELDS = [
  '@timestamp',
  'function_name',
  'level',
  'message',
  'action',
  'policy',
  'object',
  'workload',
  'objects.0',
  'kind',
  'namespace',
  'name',
  'actor',
  'verb',
  'outcome',
  'reason',
  'cluster',
  'correlation_id',
] as const;

/** Lambda log group of one handler of one stage (function names are `<service>-<stage>-<handler>`). */
export function logGroupName(stage: string, handler: Handler, service = 'ripple'): string {
  return `/aws/lambda/${service}-${stage}-${handler}`;
}

export function logGroupNames(stage: string, handlers: readonly Handler[] = HANDLERS, service = 'ripple'): string[] {
  return handlers.map((h) => logGroupName(stage, h, service));
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const KIND = /^[A-Z][A-Za-z0-9]*$/;

export interface ObjectRef {
  kind?: string;
  namespace: string;
  name: string;
}

/**
 * `namespace/name` or `Kind/namespace/name` (e.g. `platform/blogsecret`, `Secret/platform/blogsecret`).
 * Throws an error naming the option and the expected form.
 */
export function parseObjectRef(text: string, option = '--object'): ObjectRef {
  const parts = text.split('/');
  const [kind, namespace, name] = parts.length === 3 ? parts : [undefined, parts[0], parts[1]];
  if (parts.length < 2 || parts.length > 3 || !namespace || !name) {
    throw new Error(`${option} "${text}": expected <namespace>/<name> or <Kind>/<namespace>/<name>, e.g. platform/blogsecret`);
  }
  if (kind !== undefined && !KIND.test(kind)) throw new Error(`${option} "${text}": kind "${kind}" is not a Kubernetes kind (e.g. Secret, ConfigMap, Deployment)`);
  if (!DNS_LABEL.test(namespace) || namespace.length > 63) throw new Error(`${option} "${text}": namespace "${namespace}" is not a valid namespace name`);
  if (!OBJECT_NAME.test(name) || name.length > 253) throw new Error(`${option} "${text}": name "${name}" is not a valid object name`);
  return kind === undefined ? { namespace, name } : { kind, namespace, name };
}

/** A Logs Insights double-quoted string literal. */
export function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function fields(): string {
  return `fields ${DISPLAY_FIELDS.join(', ')}`;
}

function tail(limit: number): string {
  return `| sort @timestamp desc\n| limit ${limit}`;
}

/** Everything the handlers did about one object: the source, its copies (which name it) and its events. */
export function objectQuery(ref: ObjectRef, limit = 200): string {
  const path = `${ref.namespace}/${ref.name}`;
  const exact = `(namespace = ${quote(ref.namespace)} and name = ${quote(ref.name)}${ref.kind ? ` and kind = ${quote(ref.kind)}` : ''})`;
  return [fields(), `| filter ${exact} or @message like ${quote(path)}`, tail(limit)].join('\n');
}

/** Restarts of one workload and why (rollout logs `workload: Kind/namespace/name` and the `objects` it was restarted for). */
export function workloadQuery(ref: ObjectRef, limit = 200): string {
  const path = `${ref.namespace}/${ref.name}`;
  if (ref.kind) return [fields(), `| filter workload = ${quote(`${ref.kind}/${path}`)}`, tail(limit)].join('\n');
  return [fields(), `| filter workload = ${quote(path)} or workload like ${quote(`/${path}`)} or @message like ${quote(path)}`, tail(limit)].join('\n');
}

/** Which workloads were restarted, and why (`objects`, `restartedFor`, `references`). */
export function restartsQuery(limit = 200): string {
  return [fields(), '| filter action = "restart"', tail(limit)].join('\n');
}

/** Protection violations (and denied attempts): who (`actor`, `verb`) changed which protected `object`, and the `outcome`. */
export function violationsQuery(limit = 200): string {
  return [fields(), '| filter action = "violation" or action = "denied"', tail(limit)].join('\n');
}

/** Error lines of every handler. */
export function errorsQuery(limit = 200): string {
  return [`${fields()}, errorClass`, '| filter level = "ERROR" or level = "CRITICAL"', tail(limit)].join('\n');
}

/** Error counts per handler and error class (`retryable`, `permanent`, `schema`, `unknown`: shared/middleware.ts). */
export function errorsByHandlerQuery(): string {
  return ['filter level = "ERROR" or level = "CRITICAL"', '| stats count(*) as errors by function_name, errorClass', '| sort errors desc'].join('\n');
}

export interface SavedQuery {
  /** Logical id suffix of the AWS::Logs::QueryDefinition. */
  id: string;
  /** Shown in the console's saved queries, under the `ripple-<stage>/` folder. */
  title: string;
  handlers: readonly Handler[];
  queryString: string;
}

/** The saved queries deployed with each stage (the object/workload ones with an example to edit). */
export function savedQueries(): SavedQuery[] {
  return [
    { id: 'ObjectHistory', title: 'What happened to an object (edit namespace/name)', handlers: HANDLERS, queryString: objectQuery({ namespace: 'platform', name: 'blogsecret' }) },
    { id: 'Restarts', title: 'Which workloads restarted and why', handlers: ['rollout'], queryString: restartsQuery() },
    { id: 'Violations', title: 'Protection violations', handlers: ['protect'], queryString: violationsQuery() },
    { id: 'ErrorsByHandler', title: 'Errors by handler', handlers: HANDLERS, queryString: errorsByHandlerQuery() },
  ];
}

/** `30s`, `15m`, `1h`, `2d` -> milliseconds. */
export function parseSince(text: string): number {
  const m = /^(\d+)\s*(s|m|h|d)$/.exec(text.trim());
  if (!m) throw new Error(`--since "${text}": expected a number and a unit s, m, h or d (e.g. 30m, 1h, 2d)`);
  const n = Number(m[1]);
  if (n <= 0) throw new Error(`--since "${text}": must be greater than zero`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return n * unit;
}
