/**
 * Label selectors (=, ==, !=, in, notin, exists, !key, gt, lt) and field selectors (=, ==, !=) as the API
 * server parses them from `labelSelector=` / `fieldSelector=` query parameters. Pure.
 */

export type LabelRequirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!' }
  | { key: string; op: 'gt' | 'lt'; value: number };

export class SelectorError extends Error {}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string, sel: string): void {
  if (!key) throw new SelectorError(`unable to parse requirement: found '', expected: identifier (selector "${sel}")`);
  const parts = key.split('/');
  const name = parts.length === 2 ? parts[1] : parts[0];
  if (parts.length > 2 || !/^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/.test(name) || name.length > 63) {
    throw new SelectorError(`unable to parse requirement: values[0][${key}]: Invalid value: "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  }
}

function checkValue(v: string, key: string): void {
  if (v.length > 63 || !LABEL_VALUE.test(v)) {
    throw new SelectorError(`unable to parse requirement: values[0][${key}]: Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  }
}

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

export function parseLabelSelector(sel: string | undefined | null): LabelRequirement[] {
  if (!sel || !sel.trim()) return [];
  const reqs: LabelRequirement[] = [];
  for (const raw of splitTop(sel)) {
    const part = raw.trim();
    if (!part) throw new SelectorError(`unable to parse requirement: found '', expected: !, identifier, or 'end of string' (selector "${sel}")`);
    let m: RegExpExecArray | null;
    if ((m = /^!\s*([^\s!=<>(),]+)$/.exec(part))) {
      checkKey(m[1], sel);
      reqs.push({ key: m[1], op: '!' });
    } else if ((m = /^([^\s!=<>(),]+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(part))) {
      checkKey(m[1], sel);
      const values = m[3].split(',').map((v) => v.trim());
      for (const v of values) checkValue(v, m[1]);
      reqs.push({ key: m[1], op: m[2] as 'in' | 'notin', values });
    } else if ((m = /^([^\s!=<>(),]+)\s*(==|=|!=)\s*([^\s,()]*)$/.exec(part))) {
      checkKey(m[1], sel);
      checkValue(m[3], m[1]);
      reqs.push({ key: m[1], op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]] });
    } else if ((m = /^([^\s!=<>(),]+)\s*(<|>)\s*([^\s,()]*)$/.exec(part))) {
      checkKey(m[1], sel);
      if (!/^-?\d+$/.test(m[3])) throw new SelectorError(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer (selector "${sel}")`);
      reqs.push({ key: m[1], op: m[2] === '>' ? 'gt' : 'lt', value: Number(m[3]) });
    } else if ((m = /^([^\s!=<>(),]+)$/.exec(part))) {
      checkKey(m[1], sel);
      reqs.push({ key: m[1], op: 'exists' });
    } else {
      throw new SelectorError(`unable to parse requirement: couldn't parse the selector string "${sel}"`);
    }
  }
  return reqs;
}

export function matchLabels(reqs: LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  for (const r of reqs) {
    const has = !!labels && Object.prototype.hasOwnProperty.call(labels, r.key);
    const v = has ? labels![r.key] : undefined;
    switch (r.op) {
      case 'in':
        if (!has || !r.values.includes(v!)) return false;
        break;
      case 'notin':
        if (has && r.values.includes(v!)) return false;
        break;
      case 'exists':
        if (!has) return false;
        break;
      case '!':
        if (has) return false;
        break;
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(v!)) return false;
        const n = Number(v);
        if (r.op === 'gt' ? !(n > r.value) : !(n < r.value)) return false;
        break;
      }
    }
  }
  return true;
}

export interface FieldRequirement { field: string; op: '=' | '!='; value: string }

/** Field selectors each kind supports besides metadata.name and metadata.namespace. */
const EXTRA_FIELDS: Record<string, string[]> = {
  secrets: ['type'],
  pods: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  nodes: ['spec.unschedulable'],
  namespaces: ['status.phase'],
  events: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid',
    'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
  'events.events.k8s.io': ['regarding.kind', 'regarding.namespace', 'regarding.name', 'regarding.uid', 'reason', 'reportingController', 'type'],
  'replicasets.apps': ['status.replicas'],
};

export function parseFieldSelector(sel: string | undefined | null, resourceKey: string): FieldRequirement[] {
  if (!sel || !sel.trim()) return [];
  const out: FieldRequirement[] = [];
  const allowed = ['metadata.name', 'metadata.namespace', ...(EXTRA_FIELDS[resourceKey] ?? [])];
  for (const raw of sel.split(',')) {
    const part = raw.trim();
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw new SelectorError(`invalid selector: '${sel}'; can't understand '${part}'`);
    const field = m[1].trim();
    if (!allowed.includes(field)) throw new SelectorError(`field label not supported: ${field}`);
    out.push({ field, op: m[2] === '!=' ? '!=' : '=', value: m[3].trim() });
  }
  return out;
}

function fieldValue(obj: any, field: string): string {
  let cur = obj;
  for (const p of field.split('.')) cur = cur == null ? undefined : cur[p];
  if (field === 'source' && obj?.source) return obj.source.component ?? '';
  return cur == null ? '' : String(cur);
}

export function matchFields(reqs: FieldRequirement[], obj: any): boolean {
  for (const r of reqs) {
    const v = fieldValue(obj, r.field);
    if (r.op === '=' ? v !== r.value : v === r.value) return false;
  }
  return true;
}

/** The name a selector pins (`metadata.name=x`), for RBAC resourceNames on list/watch. */
export function pinnedName(reqs: FieldRequirement[]): string | undefined {
  const r = reqs.find((x) => x.field === 'metadata.name' && x.op === '=');
  return r?.value;
}
