/**
 * What an answer is sent as (the Accept header's `as`, `g`, `v` parameters), and metadata-only answers
 * (`as=PartialObjectMetadata` / `as=PartialObjectMetadataList`, client-go's metadata client), as kube-apiserver's
 * handlers negotiate and transform them (endpoints/handlers/negotiation and response.go). Pure.
 *
 * Negotiation walks the Accept list in order of preference (q, then the more specific type first); the first entry
 * the server can serve wins. An entry asking for a transformation it does not allow (another group or version,
 * an unknown kind, a Table where there is no table) is skipped. Answers are always JSON: JSON entries are tried
 * first, then the protobuf and YAML entries kube-apiserver would also serve (answered in JSON, as every answer of
 * this server is). Nothing acceptable: 406, when an entry asked for a transformation; else the plain JSON answer,
 * as before.
 *
 * The transformation applies to the answer only, after the version conversion (events.k8s.io): a Status passes
 * through, an object asked as a list or a list asked as an object is 406 (after the request ran, as in
 * kube-apiserver: the check is on the answer).
 */
import type { ResourceType } from './resources.ts';
import { ApiError } from './status.ts';

export type TransformKind = 'Table' | 'PartialObjectMetadata' | 'PartialObjectMetadataList';

/** A transformation of the answer; null: the object (or list) itself. */
export type OutputTarget = { kind: TransformKind; version: 'v1' | 'v1beta1' } | null;

/** The media types kube-apiserver serves built-in resources in (its 406 lists them). */
const SERVED = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];

interface Clause { type: string; subtype: string; q: number; params: Record<string, string> }

/** goautoneg.ParseAccept: clauses with their parameters, q descending, then specific types before wildcards. */
export function parseAccept(header: string): Clause[] {
  const clauses: Clause[] = [];
  for (const part of header.split(',')) {
    const [range, ...rest] = part.split(';').map((s) => s.trim());
    if (!range) continue;
    const [type, subtype = '*'] = range.toLowerCase().split('/').map((s) => s.trim());
    const params: Record<string, string> = {};
    let q = 1;
    for (const p of rest) {
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      const k = p.slice(0, eq).trim();
      const v = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
      if (k === 'q') q = Number.parseFloat(v) || 0;
      else params[k] = v;
    }
    clauses.push({ type, subtype, q, params });
  }
  const rank = (c: Clause) => (c.type === '*' ? 2 : c.subtype === '*' ? 1 : 0);
  return clauses.sort((a, b) => b.q - a.q || rank(a) - rank(b));
}

function matches(c: Clause, mediaType: string): boolean {
  const [type, subtype] = mediaType.split('/');
  return (c.type === type && (c.subtype === subtype || c.subtype === '*')) || (c.type === '*' && c.subtype === '*');
}

/**
 * The answer's form for one clause matching `mediaType`, or undefined when the clause must be skipped
 * (acceptMediaTypeOptions + RequestScope.AllowsMediaTypeTransform).
 */
function clauseTarget(c: Clause, mediaType: string, opts: { table: boolean }): OutputTarget | undefined {
  const { as, g, v, stream, sv } = c.params;
  if (stream !== undefined && stream !== '' && stream !== 'watch') return undefined;
  if (sv !== undefined && sv !== '') return undefined;
  if (as === undefined && g === undefined && v === undefined) return null;
  if (g !== 'meta.k8s.io' || (v !== 'v1' && v !== 'v1beta1')) return undefined;
  switch (as) {
    case 'PartialObjectMetadata':
    case 'PartialObjectMetadataList':
      return { kind: as, version: v };
    case 'Table':
      // Tables of meta.k8s.io/v1 only here (kube-apiserver also prints v1beta1 ones), in JSON or YAML, for the
      // resources that have a table convertor (not the reviews)
      return opts.table && v === 'v1' && (mediaType === 'application/json' || mediaType === 'application/yaml') ? { kind: 'Table', version: v } : undefined;
    default:
      return undefined;
  }
}

/**
 * NegotiateOutputMediaType for one endpoint: the first acceptable Accept entry's transformation. `table`: the
 * resource can be printed as a Table. Throws 406 NotAcceptable when every entry asks for something refused.
 */
export function negotiateOutput(accept: string | undefined, opts: { table: boolean }): OutputTarget {
  if (!accept || accept === 'application/json' || !accept.trim()) return null;
  // clients send a handful of distinct Accept headers, each on every request: negotiated once per header
  const memo = opts.table ? NEGOTIATED.table : NEGOTIATED.plain;
  const known = memo.get(accept);
  if (known !== undefined) return known;
  const t = negotiate(accept, opts);
  if (memo.size >= 256) memo.clear();
  memo.set(accept, t);
  return t;
}

const NEGOTIATED = { table: new Map<string, OutputTarget>(), plain: new Map<string, OutputTarget>() };

function negotiate(accept: string, opts: { table: boolean }): OutputTarget {
  const clauses = parseAccept(accept).filter((c) => c.q > 0);
  // JSON first (what every answer is), then the other media types kube-apiserver serves, answered in JSON
  for (const served of [['application/json'], SERVED.slice(1)]) {
    for (const c of clauses) {
      for (const mediaType of served) {
        if (!matches(c, mediaType)) continue;
        const t = clauseTarget(c, mediaType, opts);
        if (t !== undefined) return t;
      }
    }
  }
  if (clauses.some((c) => 'as' in c.params || 'g' in c.params || 'v' in c.params)) throw notAcceptable();
  return null;
}

/** negotiation.NewNotAcceptableError for the media types of built-in resources. */
export function notAcceptable(): ApiError {
  return new ApiError(406, 'NotAcceptable', `only the following media types are accepted: ${SERVED.join(', ')}`);
}

/** Whether the answer is metadata only. */
export function metadataOnly(t: OutputTarget): t is { kind: 'PartialObjectMetadata' | 'PartialObjectMetadataList'; version: 'v1' | 'v1beta1' } {
  return t !== null && t.kind !== 'Table';
}

/** The Go type kube-apiserver names in its 406 texts: `*core.Secret`, `*apps.DeploymentList`, `*unstructured.Unstructured`. */
export function goType(rt: Pick<ResourceType, 'group' | 'kind'>, list: boolean): string {
  if (rt.group.includes('.') && !rt.group.endsWith('.k8s.io')) return list ? '*unstructured.UnstructuredList' : '*unstructured.Unstructured';
  const pkg = rt.group === '' || rt.group === 'events.k8s.io' ? 'core' : rt.group.split('.')[0];
  return `*${pkg}.${rt.kind}${list ? 'List' : ''}`;
}

/** metav1.PartialObjectMetadata of an object: its metadata, as it is (managedFields included). */
export function partialObject(obj: any, version: 'v1' | 'v1beta1'): any {
  const metadata = obj?.metadata ?? {};
  return {
    kind: 'PartialObjectMetadata',
    apiVersion: `meta.k8s.io/${version}`,
    metadata: 'creationTimestamp' in metadata ? metadata : { ...metadata, creationTimestamp: null },
  };
}

/** metav1.PartialObjectMetadataList of a list's items and ListMeta. */
export function partialList(items: any[], listMeta: Record<string, unknown>, version: 'v1' | 'v1beta1'): any {
  return { kind: 'PartialObjectMetadataList', apiVersion: `meta.k8s.io/${version}`, metadata: listMeta, items: items.map((o) => partialObject(o, version)) };
}

const isStatus = (body: any) => body?.kind === 'Status' && body?.apiVersion === 'v1';

/**
 * A single object's answer (get, create, update, patch, delete, a subresource) as metadata: a Status passes
 * through; asked as a list, 406 (`rt` names the type). `body` is the object as it would be answered.
 */
export function objectAsMetadata(body: any, t: { kind: 'PartialObjectMetadata' | 'PartialObjectMetadataList'; version: 'v1' | 'v1beta1' }, rt: Pick<ResourceType, 'group' | 'kind'>): any {
  if (isStatus(body)) return body;
  if (t.kind === 'PartialObjectMetadataList') {
    throw new ApiError(406, 'NotAcceptable', `you requested PartialObjectMetadataList, but the requested object is not a list (${goType(rt, false)})`);
  }
  return partialObject(body, t.version);
}

/** A list's answer (list, deletecollection) as metadata; asked as a single object, 406. */
export function listAsMetadata(items: any[], listMeta: Record<string, unknown>, t: { kind: 'PartialObjectMetadata' | 'PartialObjectMetadataList'; version: 'v1' | 'v1beta1' }, rt: Pick<ResourceType, 'group' | 'kind'>): any {
  if (t.kind === 'PartialObjectMetadata') {
    throw new ApiError(406, 'NotAcceptable', `you requested PartialObjectMetadata, but the requested object is a list (${goType(rt, true)})`);
  }
  return partialList(items, listMeta, t.version);
}
