/**
 * The CloudWatch Logs filter for the protect handler's audit-log subscription, rendered from the policies: as
 * narrow as fits CloudWatch's 1024 characters.
 */
import type { RipplePolicy } from '../core/policy/schema.ts';
import { baseName } from '../core/policy/select.ts';

/** CloudWatch Logs limits a subscription filter pattern to 1024 characters. */
export const LOGS_FILTER_MAX = 1024;
/** A filter that matches no audit record (no policy protects anything); an empty pattern would match everything. */
export const NO_AUDIT_FILTER = '{ $.objectRef.resource = "ripple-nothing-protected" }';

const RESOURCE: Record<string, string> = { Secret: 'secrets', ConfigMap: 'configmaps' };

/**
 * The CloudWatch Logs JSON filter pattern selecting EKS audit records (ResponseComplete) of writes to the
 * protected objects, as narrow as fits CloudWatch's 1024 characters:
 * 1. per object: create always, update/patch for UPDATE, delete for DELETE, and deletecollection in their
 *    namespaces (it names no object); objects sharing resource, namespace and operations are grouped; and the
 *    delete of each namespace holding a protected object (always);
 * 2. if that is too long, per namespace: every write verb on that resource in the namespaces holding protected
 *    objects, and every namespace delete (a superset; the protect handler decides per record);
 * 3. if even that is too long, per resource: every write verb on the protected kinds' resources in any namespace,
 *    and every namespace delete (constant size whatever the number of policies; the protect handler skips the
 *    records of unprotected objects, at the cost of an invocation per batch of them).
 */
export function protectAuditFilter(policies: RipplePolicy[]): string {
  const protecting = policies.filter((p) => p.spec.protect);
  if (protecting.length === 0) return NO_AUDIT_FILTER;
  const precise = preciseAuditFilter(protecting);
  if (precise.length <= LOGS_FILTER_MAX) return precise;
  const coarse = namespaceAuditFilter(protecting);
  if (coarse.length <= LOGS_FILTER_MAX) return coarse;
  return resourceAuditFilter(protecting);
}

/** Writes to the protected kinds anywhere, and every namespace delete: a size that does not grow with the policies. */
function resourceAuditFilter(protecting: RipplePolicy[]): string {
  const resources = [...new Set(protecting.map((p) => RESOURCE[p.spec.source.kind]))].sort();
  return `{ $.stage = "ResponseComplete" && ((${anyOf('verb', WRITE_VERBS)} && ${anyOf('objectRef.resource', resources)}) || ($.objectRef.resource = "namespaces" && $.verb = "delete")) }`;
}

const WRITE_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection'];

const anyOf = (field: string, values: string[]) => (values.length === 1 ? `$.${field} = "${values[0]}"` : `(${values.map((v) => `$.${field} = "${v}"`).join(' || ')})`);

function preciseAuditFilter(protecting: RipplePolicy[]): string {
  const groups = new Map<string, { resource: string; namespace: string; verbs: string[]; names: string[] }>();
  for (const p of protecting) {
    const ops = p.spec.protect!.operations;
    // CREATE is always guarded (admission refuses it too): a violating create that slipped through is undone, and an
    // allowed one moves the last-known-good snapshot
    const verbs = ['create', ...(ops.includes('UPDATE') ? ['update', 'patch'] : []), ...(ops.includes('DELETE') ? ['delete'] : [])];
    const s = p.spec.source;
    const key = `${s.kind}/${s.namespace}/${verbs.join(',')}`;
    const g = groups.get(key) ?? { resource: RESOURCE[s.kind], namespace: s.namespace, verbs, names: [] };
    g.names.push(baseName(p));
    groups.set(key, g);
  }
  const clauses: string[] = [];
  const collections = new Set<string>();
  for (const g of [...groups.values()].sort((a, b) => `${a.resource}/${a.namespace}`.localeCompare(`${b.resource}/${b.namespace}`))) {
    clauses.push(`($.objectRef.resource = "${g.resource}" && $.objectRef.namespace = "${g.namespace}" && ${anyOf('objectRef.name', g.names.sort())} && ${anyOf('verb', g.verbs)})`);
    if (g.verbs.includes('delete')) collections.add(`${g.resource}\n${g.namespace}`);
  }
  for (const c of [...collections].sort()) {
    const [resource, namespace] = c.split('\n');
    clauses.push(`($.objectRef.resource = "${resource}" && $.objectRef.namespace = "${namespace}" && $.verb = "deletecollection")`);
  }
  clauses.push(namespaceDeleteClause(protecting));
  return `{ $.stage = "ResponseComplete" && (${clauses.join(' || ')}) }`;
}

/** Deletes of the namespaces holding protected objects: the namespace takes the object along. */
function namespaceDeleteClause(protecting: RipplePolicy[]): string {
  const namespaces = [...new Set(protecting.map((p) => p.spec.source.namespace))].sort();
  return `($.objectRef.resource = "namespaces" && ${anyOf('objectRef.name', namespaces)} && $.verb = "delete")`;
}

function namespaceAuditFilter(protecting: RipplePolicy[]): string {
  const byResource = new Map<string, Set<string>>();
  for (const p of protecting) {
    const r = RESOURCE[p.spec.source.kind];
    const set = byResource.get(r) ?? new Set<string>();
    set.add(p.spec.source.namespace);
    byResource.set(r, set);
  }
  const clauses = [...byResource.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([r, ns]) => `($.objectRef.resource = "${r}" && ${anyOf('objectRef.namespace', [...ns].sort())})`);
  const resources = clauses.length === 1 ? clauses[0] : `(${clauses.join(' || ')})`;
  // every namespace delete (a superset: the handler keeps those holding a protected object)
  return `{ $.stage = "ResponseComplete" && ((${anyOf('verb', WRITE_VERBS)} && ${resources}) || ($.objectRef.resource = "namespaces" && $.verb = "delete")) }`;
}
