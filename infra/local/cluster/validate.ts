/**
 * Object validation as kube-apiserver's registry strategies do it, with the real field paths and texts.
 * Returns FieldErrors (the caller turns them into a 422 Invalid); pure.
 */
import { expressionErrors } from './admission.ts';
import type { ResourceType } from './resources.ts';
import type { FieldError } from './status.ts';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export const SUBDOMAIN_MSG = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
export const LABEL_MSG = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const CONFIG_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const QUALIFIED_MSG = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

export function nameErrors(rule: ResourceType['nameRule'], name: string, field = 'metadata.name'): FieldError[] {
  if (rule === 'path') {
    if (name === '.' || name === '..') return [{ type: 'FieldValueInvalid', field, value: name, detail: `may not be '${name}'` }];
    for (const bad of ['/', '%']) if (name.includes(bad)) return [{ type: 'FieldValueInvalid', field, value: name, detail: `may not contain '${bad}'` }];
    return [];
  }
  const out: FieldError[] = [];
  if (rule === 'label') {
    if (name.length > 63) out.push({ type: 'FieldValueInvalid', field, value: name, detail: 'must be no more than 63 characters' });
    if (!DNS1123_LABEL.test(name)) out.push({ type: 'FieldValueInvalid', field, value: name, detail: LABEL_MSG });
  } else {
    if (name.length > 253) out.push({ type: 'FieldValueInvalid', field, value: name, detail: 'must be no more than 253 characters' });
    if (!DNS1123_SUBDOMAIN.test(name)) out.push({ type: 'FieldValueInvalid', field, value: name, detail: SUBDOMAIN_MSG });
  }
  return out;
}

function qualifiedNameErrors(key: string, field: string): FieldError[] {
  const parts = key.split('/');
  let name = key;
  if (parts.length === 2) {
    const [prefix, n] = parts;
    name = n;
    if (!prefix) return [{ type: 'FieldValueInvalid', field, value: key, detail: 'prefix part must be non-empty' }];
    if (!DNS1123_SUBDOMAIN.test(prefix) || prefix.length > 253) {
      return [{ type: 'FieldValueInvalid', field, value: key, detail: `prefix part ${SUBDOMAIN_MSG}` }];
    }
  } else if (parts.length > 2) {
    return [{ type: 'FieldValueInvalid', field, value: key, detail: "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')" }];
  }
  if (!name) return [{ type: 'FieldValueInvalid', field, value: key, detail: 'name part must be non-empty' }];
  if (name.length > 63) return [{ type: 'FieldValueInvalid', field, value: key, detail: 'name part must be no more than 63 characters' }];
  if (!QUALIFIED_NAME_PART.test(name)) return [{ type: 'FieldValueInvalid', field, value: key, detail: QUALIFIED_MSG }];
  return [];
}

function metaErrors(obj: any): FieldError[] {
  const out: FieldError[] = [];
  const labels = obj.metadata?.labels;
  if (labels !== undefined && labels !== null) {
    if (typeof labels !== 'object' || Array.isArray(labels)) {
      out.push({ type: 'FieldValueInvalid', field: 'metadata.labels', value: labels, detail: 'must be a map of string keys to string values' });
    } else {
      for (const [k, v] of Object.entries(labels)) {
        out.push(...qualifiedNameErrors(k, 'metadata.labels'));
        if (typeof v !== 'string') out.push({ type: 'FieldValueInvalid', field: 'metadata.labels', value: v, detail: 'must be a string' });
        else if (v.length > 63) out.push({ type: 'FieldValueInvalid', field: 'metadata.labels', value: v, detail: 'must be no more than 63 characters' });
        else if (!LABEL_VALUE.test(v)) out.push({ type: 'FieldValueInvalid', field: 'metadata.labels', value: v, detail: LABEL_VALUE_MSG });
      }
    }
  }
  const ann = obj.metadata?.annotations;
  if (ann !== undefined && ann !== null) {
    if (typeof ann !== 'object' || Array.isArray(ann)) {
      out.push({ type: 'FieldValueInvalid', field: 'metadata.annotations', value: ann, detail: 'must be a map of string keys to string values' });
    } else {
      let size = 0;
      for (const [k, v] of Object.entries(ann)) {
        out.push(...qualifiedNameErrors(k.toLowerCase(), 'metadata.annotations'));
        if (typeof v !== 'string') out.push({ type: 'FieldValueInvalid', field: 'metadata.annotations', value: v, detail: 'must be a string' });
        size += k.length + String(v).length;
      }
      if (size > 262144) out.push({ type: 'FieldValueTooLong', field: 'metadata.annotations', detail: 'must have at most 262144 bytes' });
    }
  }
  return out;
}

function dataKeyErrors(data: unknown, field: string): FieldError[] {
  const out: FieldError[] = [];
  if (data === undefined || data === null) return out;
  if (typeof data !== 'object' || Array.isArray(data)) return [{ type: 'FieldValueInvalid', field, value: data, detail: 'must be a map of string keys to string values' }];
  for (const k of Object.keys(data)) {
    if (!CONFIG_KEY.test(k)) out.push({ type: 'FieldValueInvalid', field: `${field}[${k}]`, value: k, detail: CONFIG_KEY_MSG });
    else if (k.length > 253) out.push({ type: 'FieldValueInvalid', field: `${field}[${k}]`, value: k, detail: 'must be no more than 253 characters' });
  }
  return out;
}

const MAX_SECRET = 1024 * 1024;

function sameMap(a: unknown, b: unknown): boolean {
  const x = (a ?? {}) as Record<string, unknown>;
  const y = (b ?? {}) as Record<string, unknown>;
  const kx = Object.keys(x);
  if (kx.length !== Object.keys(y).length) return false;
  return kx.every((k) => Object.prototype.hasOwnProperty.call(y, k) && x[k] === y[k]);
}

function immutableErrors(obj: any, old: any, fields: string[]): FieldError[] {
  if (!old || old.immutable !== true) return [];
  const out: FieldError[] = [];
  if (obj.immutable !== true) out.push({ type: 'FieldValueForbidden', field: 'immutable', detail: 'field is immutable when `immutable` is set' });
  for (const f of fields) if (!sameMap(obj[f], old[f])) out.push({ type: 'FieldValueForbidden', field: f, detail: 'field is immutable when `immutable` is set' });
  return out;
}

function selectorMatches(sel: any, labels: Record<string, string> | undefined): boolean {
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) if (labels?.[k] !== v) return false;
  for (const e of sel?.matchExpressions ?? []) {
    const has = !!labels && e.key in labels;
    const val = labels?.[e.key];
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(val))) return false;
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(val)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function goMap(m: Record<string, string> | undefined): string {
  const entries = Object.entries(m ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return `map[string]string{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(', ')}}`;
}

function workloadErrors(r: ResourceType, obj: any, old: any): FieldError[] {
  const out: FieldError[] = [];
  const spec = obj.spec;
  if (!spec || typeof spec !== 'object') return [{ type: 'FieldValueRequired', field: 'spec', detail: '' }];
  const sel = spec.selector;
  if (!sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)) {
    out.push({ type: 'FieldValueRequired', field: 'spec.selector', detail: '' });
  } else {
    const labels = spec.template?.metadata?.labels;
    if (!selectorMatches(sel, labels)) {
      out.push({ type: 'FieldValueInvalid', field: 'spec.template.metadata.labels', value: goMap(labels), detail: '`selector` does not match template `labels`' });
    }
    if (old && r.kind !== 'ReplicaSet' && JSON.stringify(old.spec?.selector) !== JSON.stringify(sel)) {
      out.push({ type: 'FieldValueInvalid', field: 'spec.selector', value: sel, detail: 'field is immutable' });
    }
  }
  const containers = spec.template?.spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    out.push({ type: 'FieldValueRequired', field: 'spec.template.spec.containers', detail: '' });
  } else {
    const seen = new Set<string>();
    containers.forEach((c: any, i: number) => {
      if (!c?.name) out.push({ type: 'FieldValueRequired', field: `spec.template.spec.containers[${i}].name`, detail: '' });
      else {
        out.push(...nameErrors('label', c.name, `spec.template.spec.containers[${i}].name`));
        if (seen.has(c.name)) out.push({ type: 'FieldValueDuplicate', field: `spec.template.spec.containers[${i}].name`, value: c.name, detail: '' });
        seen.add(c.name);
      }
      if (!c?.image) out.push({ type: 'FieldValueRequired', field: `spec.template.spec.containers[${i}].image`, detail: '' });
    });
  }
  if (spec.replicas !== undefined && (typeof spec.replicas !== 'number' || spec.replicas < 0)) {
    out.push({ type: 'FieldValueInvalid', field: 'spec.replicas', value: spec.replicas, detail: 'must be greater than or equal to 0' });
  }
  return out;
}

const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** Go's %#v of a []string, as field.Invalid prints slice values. */
function goStrings(v: unknown): string {
  return Array.isArray(v) ? `[]string{${v.map((x) => JSON.stringify(String(x))).join(', ')}}` : JSON.stringify(v);
}

/** kube's ValidatePolicyRule. */
function ruleErrors(rule: any, namespaced: boolean, field: string): FieldError[] {
  const out: FieldError[] = [];
  const len = (v: unknown) => (Array.isArray(v) ? v.length : 0);
  if (!len(rule?.verbs)) out.push({ type: 'FieldValueRequired', field: `${field}.verbs`, detail: 'verbs must contain at least one value' });
  if (len(rule?.nonResourceURLs)) {
    if (namespaced) out.push({ type: 'FieldValueInvalid', field: `${field}.nonResourceURLs`, raw: goStrings(rule.nonResourceURLs), detail: 'namespaced rules cannot apply to non-resource URLs' });
    if (len(rule.apiGroups) || len(rule.resources) || len(rule.resourceNames)) {
      out.push({ type: 'FieldValueInvalid', field: `${field}.nonResourceURLs`, raw: goStrings(rule.nonResourceURLs), detail: 'rules cannot apply to both regular resources and non-resource URLs' });
    }
    return out;
  }
  if (!len(rule?.apiGroups)) out.push({ type: 'FieldValueRequired', field: `${field}.apiGroups`, detail: 'resource rules must supply at least one api group' });
  if (!len(rule?.resources)) out.push({ type: 'FieldValueRequired', field: `${field}.resources`, detail: 'resource rules must supply at least one resource' });
  return out;
}

/** kube's ValidateRoleBinding / ValidateClusterRoleBinding (roleRef and subjects). */
function bindingErrors(kind: string, obj: any, old: any | null): FieldError[] {
  const out: FieldError[] = [];
  const ref = obj.roleRef;
  if (ref?.apiGroup !== RBAC_GROUP) out.push({ type: 'FieldValueNotSupported', field: 'roleRef.apiGroup', value: ref?.apiGroup ?? '', detail: `supported values: "${RBAC_GROUP}"` });
  const kinds = kind === 'ClusterRoleBinding' ? ['ClusterRole'] : ['Role', 'ClusterRole'];
  if (!kinds.includes(ref?.kind)) out.push({ type: 'FieldValueNotSupported', field: 'roleRef.kind', value: ref?.kind ?? '', detail: `supported values: ${kinds.map((k) => `"${k}"`).join(', ')}` });
  if (!ref?.name) out.push({ type: 'FieldValueRequired', field: 'roleRef.name', detail: '' });
  if (old && JSON.stringify(old.roleRef) !== JSON.stringify(ref)) {
    out.push({ type: 'FieldValueInvalid', field: 'roleRef', value: ref, detail: 'cannot change roleRef' });
  }
  (Array.isArray(obj.subjects) ? obj.subjects : []).forEach((sub: any, i: number) => {
    const f = `subjects[${i}]`;
    if (!sub?.name) out.push({ type: 'FieldValueRequired', field: `${f}.name`, detail: '' });
    switch (sub?.kind) {
      case 'ServiceAccount':
        if (sub.apiGroup) out.push({ type: 'FieldValueNotSupported', field: `${f}.apiGroup`, value: sub.apiGroup, detail: 'supported values: ""' });
        if (sub.name) out.push(...nameErrors('subdomain', sub.name, `${f}.name`));
        if (kind === 'ClusterRoleBinding' && !sub.namespace) out.push({ type: 'FieldValueRequired', field: `${f}.namespace`, detail: '' });
        break;
      case 'User':
      case 'Group':
        if (sub.apiGroup !== RBAC_GROUP) out.push({ type: 'FieldValueNotSupported', field: `${f}.apiGroup`, value: sub.apiGroup ?? '', detail: `supported values: "${RBAC_GROUP}"` });
        break;
      default:
        out.push({ type: 'FieldValueNotSupported', field: `${f}.kind`, value: sub?.kind ?? '', detail: 'supported values: "ServiceAccount", "User", "Group"' });
    }
  });
  return out;
}

/** Validation of a create (old = null) or update of `obj` (name and namespace already set). */
export function validateObject(r: ResourceType, obj: any, old: any | null): FieldError[] {
  const out: FieldError[] = [];
  const name = obj.metadata?.name;
  if (!name) out.push({ type: 'FieldValueRequired', field: 'metadata.name', detail: 'name or generateName is required' });
  else if (!old) out.push(...nameErrors(r.nameRule, name));
  out.push(...metaErrors(obj));
  switch (r.kind) {
    case 'Secret': {
      out.push(...dataKeyErrors(obj.data, 'data'));
      let size = 0;
      for (const v of Object.values(obj.data ?? {})) size += Buffer.byteLength(String(v), 'base64');
      if (size > MAX_SECRET) out.push({ type: 'FieldValueTooLong', field: 'data', detail: `must have at most ${MAX_SECRET} bytes` });
      if (old && (old.type ?? 'Opaque') !== (obj.type ?? 'Opaque')) {
        out.push({ type: 'FieldValueInvalid', field: 'type', value: obj.type ?? 'Opaque', detail: 'field is immutable' });
      }
      if (obj.type === 'kubernetes.io/tls') {
        for (const k of ['tls.crt', 'tls.key']) if (!obj.data?.[k]) out.push({ type: 'FieldValueRequired', field: `data[${k}]`, detail: '' });
      }
      if (obj.type === 'kubernetes.io/dockerconfigjson' && !obj.data?.['.dockerconfigjson']) {
        out.push({ type: 'FieldValueRequired', field: 'data[.dockerconfigjson]', detail: '' });
      }
      out.push(...immutableErrors(obj, old, ['data']));
      break;
    }
    case 'ConfigMap': {
      out.push(...dataKeyErrors(obj.data, 'data'), ...dataKeyErrors(obj.binaryData, 'binaryData'));
      for (const k of Object.keys(obj.binaryData ?? {})) {
        if (obj.data && k in obj.data) out.push({ type: 'FieldValueInvalid', field: `data[${k}]`, value: k, detail: 'duplicate of key present in binaryData' });
      }
      let size = 0;
      for (const v of Object.values(obj.data ?? {})) size += String(v).length;
      for (const v of Object.values(obj.binaryData ?? {})) size += Buffer.byteLength(String(v), 'base64');
      if (size > MAX_SECRET) out.push({ type: 'FieldValueTooLong', field: '', detail: `must have at most ${MAX_SECRET} bytes` });
      out.push(...immutableErrors(obj, old, ['data', 'binaryData']));
      break;
    }
    case 'Pod': {
      const containers = obj.spec?.containers;
      if (!Array.isArray(containers) || containers.length === 0) out.push({ type: 'FieldValueRequired', field: 'spec.containers', detail: '' });
      else containers.forEach((c: any, i: number) => {
        if (!c?.name) out.push({ type: 'FieldValueRequired', field: `spec.containers[${i}].name`, detail: '' });
        if (!c?.image) out.push({ type: 'FieldValueRequired', field: `spec.containers[${i}].image`, detail: '' });
      });
      break;
    }
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
      out.push(...workloadErrors(r, obj, old));
      break;
    case 'Role':
    case 'ClusterRole':
      (Array.isArray(obj.rules) ? obj.rules : []).forEach((rule: any, i: number) => out.push(...ruleErrors(rule, r.kind === 'Role', `rules[${i}]`)));
      break;
    case 'RoleBinding':
    case 'ClusterRoleBinding':
      out.push(...bindingErrors(r.kind, obj, old));
      break;
    case 'ValidatingAdmissionPolicy':
      if (!Array.isArray(obj.spec?.validations) || obj.spec.validations.length === 0) {
        if (!obj.spec?.auditAnnotations?.length) out.push({ type: 'FieldValueRequired', field: 'spec.validations', detail: 'validations or auditAnnotations must contain at least one item' });
      }
      out.push(...expressionErrors(obj));
      break;
    case 'ValidatingAdmissionPolicyBinding':
      if (!obj.spec?.policyName) out.push({ type: 'FieldValueRequired', field: 'spec.policyName', detail: '' });
      if (!Array.isArray(obj.spec?.validationActions) || obj.spec.validationActions.length === 0) {
        out.push({ type: 'FieldValueRequired', field: 'spec.validationActions', detail: 'at least one validation action is required' });
      }
      break;
    case 'Lease':
      break;
  }
  return out;
}

/**
 * Secret data must be base64: like the real server, a value that is not is a decoding error (400 BadRequest)
 * before validation. Returns the message or null.
 */
export function secretDecodeError(obj: any): string | null {
  const data = obj?.data;
  if (!data || typeof data !== 'object') return null;
  for (const v of Object.values(data)) {
    if (typeof v !== 'string') return 'Secret in version "v1" cannot be handled as a Secret: json: cannot unmarshal into Go struct field Secret.data of type []uint8';
    const pos = base64ErrorPosition(v);
    if (pos >= 0) return `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte ${pos}`;
  }
  return null;
}

/** Position of the first illegal byte for Go's base64.StdEncoding (padded), or -1. */
export function base64ErrorPosition(s: string): number {
  const alphabet = /[A-Za-z0-9+/]/;
  let i = 0;
  for (; i < s.length; i++) {
    const c = s[i];
    if (c === '\r' || c === '\n') continue;
    if (c === '=') break;
    if (!alphabet.test(c)) return i;
  }
  const body = s.replace(/[\r\n]/g, '');
  const firstPad = body.indexOf('=');
  if (firstPad >= 0) {
    const pads = body.length - firstPad;
    if (!/^=+$/.test(body.slice(firstPad)) || pads > 2 || body.length % 4 !== 0) return firstPad;
    return -1;
  }
  if (body.length % 4 !== 0) return Math.floor(body.length / 4) * 4;
  return -1;
}

const META_FIELDS = new Set(['name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields']);

const TOP_FIELDS: Record<string, string[]> = {
  Secret: ['data', 'stringData', 'type', 'immutable'],
  ConfigMap: ['data', 'binaryData', 'immutable'],
  ServiceAccount: ['secrets', 'imagePullSecrets', 'automountServiceAccountToken'],
  Role: ['rules'],
  ClusterRole: ['rules', 'aggregationRule'],
  RoleBinding: ['subjects', 'roleRef'],
  ClusterRoleBinding: ['subjects', 'roleRef'],
  Event: ['action', 'count', 'eventTime', 'firstTimestamp', 'involvedObject', 'lastTimestamp', 'message', 'reason', 'related',
    'reportingComponent', 'reportingInstance', 'series', 'source', 'type'],
  ControllerRevision: ['data', 'revision'],
  ValidatingAdmissionPolicyBinding: ['spec'],
  NetworkPolicy: ['spec'],
  Lease: ['spec'],
  PodTemplate: ['template'],
};

/** The fields of the workloads' `spec` (apps/v1 DeploymentSpec, ReplicaSetSpec, StatefulSetSpec, DaemonSetSpec). */
const SPEC_FIELDS: Record<string, string[]> = {
  Deployment: ['replicas', 'selector', 'template', 'strategy', 'minReadySeconds', 'revisionHistoryLimit', 'paused', 'progressDeadlineSeconds'],
  ReplicaSet: ['replicas', 'minReadySeconds', 'selector', 'template'],
  StatefulSet: ['replicas', 'selector', 'template', 'volumeClaimTemplates', 'serviceName', 'podManagementPolicy', 'updateStrategy',
    'revisionHistoryLimit', 'minReadySeconds', 'persistentVolumeClaimRetentionPolicy', 'ordinals'],
  DaemonSet: ['selector', 'template', 'updateStrategy', 'minReadySeconds', 'revisionHistoryLimit'],
};

/**
 * Fields the server does not know, at the top level, in metadata and in the workloads' `spec` (deeper levels are not
 * checked): `fieldValidation=Strict` refuses them, Warn (the default) warns, and both Warn and Ignore drop them.
 */
export function unknownFields(r: ResourceType, obj: any): string[] {
  const known = new Set(['apiVersion', 'kind', 'metadata', ...(TOP_FIELDS[r.kind] ?? ['spec', 'status'])]);
  const out: string[] = [];
  for (const k of Object.keys(obj ?? {})) if (!known.has(k)) out.push(k);
  const meta = obj?.metadata;
  if (meta && typeof meta === 'object') for (const k of Object.keys(meta)) if (!META_FIELDS.has(k)) out.push(`metadata.${k}`);
  const spec = obj?.spec;
  const specFields = SPEC_FIELDS[r.kind];
  if (specFields && spec && typeof spec === 'object' && !Array.isArray(spec)) {
    for (const k of Object.keys(spec)) if (!specFields.includes(k)) out.push(`spec.${k}`);
  }
  return out;
}

/**
 * The keys a JSON text repeats within one object, as paths (`spec.replicas`, `spec.template.spec.containers[0].name`):
 * JSON.parse keeps the last silently; kube's strict decoding reports them (`duplicate field "spec.replicas"`).
 * Malformed JSON yields [] (the parser reports it).
 */
export function duplicateFields(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i++; };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      ws();
      if (text[i] === '}') { i++; return; }
      while (i < text.length) {
        ws();
        const key = str();
        const at = path ? `${path}.${key}` : key;
        if (seen.has(key) && !out.includes(at)) out.push(at);
        seen.add(key);
        ws();
        i++; // ':'
        value(at);
        ws();
        if (text[i++] === '}') return;
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') { i++; return; }
      for (let n = 0; i < text.length; n++) {
        value(`${path}[${n}]`);
        ws();
        if (text[i++] === ']') return;
      }
    } else if (c === '"') {
      str();
    } else {
      while (i < text.length && !',}] \t\n\r'.includes(text[i])) i++;
    }
  };
  try {
    value('');
  } catch {
    return [];
  }
  return out;
}
