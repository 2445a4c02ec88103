/**
 * Request options (metav1 CreateOptions, UpdateOptions, PatchOptions, DeleteOptions, GetOptions, ListOptions) read and
 * checked as kube-apiserver reads and checks them: the query string through its parameter codec (a bad number is a 400
 * BadRequest), a DeleteOptions body through its decoder, then the options' validation (422
 * `DeleteOptions.meta.k8s.io "" is invalid: ...`). Pure: takes the query and the decoded body, returns typed options
 * or throws an ApiError naming the option.
 *
 * An option the embedded server cannot honour is refused with an error naming it, never dropped. docs/embedded-cluster.md
 * ("Request options") has the table of every option, the verbs it applies to, where it is read and its test.
 */
import { ApiError, badRequest, fieldErrorText, type FieldError } from './status.ts';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';
export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** 422 for invalid options: `DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: ...`. */
export function optionsInvalid(kind: string, errors: FieldError[]): ApiError {
  const texts = errors.map((e) => `${e.field}: ${fieldErrorText(e)}`);
  return new ApiError(422, 'Invalid', `${kind}.meta.k8s.io "" is invalid: ${texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`}`, {
    group: 'meta.k8s.io',
    kind,
    causes: errors.map((e) => ({ reason: e.type, message: fieldErrorText(e), field: e.field })),
  });
}

/**
 * A boolean query parameter as the parameter codec reads it (metav1 Convert_Slice_string_To_bool): "0" and "false"
 * (any case) are false, anything else, the empty string included, is true.
 */
export function boolParam(v: string): boolean {
  return !(v === '0' || v.toLowerCase() === 'false');
}

/** An integer query parameter (int64): a 400 naming it when it is not one. */
function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (!/^[-+]?\d+$/.test(v.trim()) || !Number.isSafeInteger(Number(v))) {
    throw badRequest(`${name}: invalid value ${JSON.stringify(v)}: strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  }
  return Number(v);
}

const goStrings = (xs: string[]): string => `[]string{${xs.map((x) => JSON.stringify(x)).join(', ')}}`;

function dryRunErrors(values: string[]): FieldError[] {
  return values.some((v) => v !== 'All')
    ? [{ type: 'FieldValueNotSupported', field: 'dryRun', raw: goStrings(values), detail: 'supported values: "All"' }]
    : [];
}

function fieldManagerErrors(fieldManager: string): FieldError[] {
  const out: FieldError[] = [];
  if (Buffer.byteLength(fieldManager) > 128) out.push({ type: 'FieldValueTooLong', field: 'fieldManager', detail: 'may not be more than 128 bytes' });
  let i = 0;
  for (const ch of fieldManager) {
    // unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space
    if (!/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch)) {
      const cp = ch.codePointAt(0)!;
      out.push({ type: 'FieldValueInvalid', field: 'fieldManager', value: fieldManager, detail: `invalid character U+${cp.toString(16).toUpperCase().padStart(4, '0')} (at position ${i})` });
    }
    i += Buffer.byteLength(ch);
  }
  return out;
}

/** Options of create, update and patch (CreateOptions, UpdateOptions, PatchOptions), from the query string. */
export interface WriteOptions {
  dryRun: boolean;
  /** as given; '' when absent (the server then names the manager after the User-Agent) */
  fieldManager: string;
  fieldValidation: FieldValidation;
  /** PatchOptions.force; null when absent */
  force: boolean | null;
}

const OPTIONS_KIND: Record<string, string> = { create: 'CreateOptions', update: 'UpdateOptions', patch: 'PatchOptions' };

/** CreateOptions / UpdateOptions / PatchOptions (ValidateCreateOptions and friends). `apply`: a server-side apply patch. */
export function writeOptions(q: URLSearchParams, verb: 'create' | 'update' | 'patch', apply = false): WriteOptions {
  const kind = OPTIONS_KIND[verb];
  const dryRun = q.getAll('dryRun');
  const fieldManager = q.get('fieldManager') ?? '';
  const fv = q.get('fieldValidation') ?? '';
  const forceParam = q.get('force');
  const errors: FieldError[] = [...fieldManagerErrors(fieldManager), ...dryRunErrors(dryRun)];
  if (!['', 'Ignore', 'Warn', 'Strict'].includes(fv)) {
    errors.push({ type: 'FieldValueNotSupported', field: 'fieldValidation', value: fv, detail: 'supported values: "", "Ignore", "Strict", "Warn"' });
  }
  if (verb === 'patch') {
    if (apply && !fieldManager) errors.push({ type: 'FieldValueRequired', field: 'fieldManager', detail: 'is required for apply patch' });
    if (!apply && forceParam !== null) errors.push({ type: 'FieldValueForbidden', field: 'force', detail: 'may not be specified for non-apply patch' });
  }
  if (errors.length) throw optionsInvalid(kind, errors);
  return {
    dryRun: dryRun.length > 0,
    fieldManager,
    fieldValidation: (fv || 'Warn') as FieldValidation,
    force: verb === 'patch' && forceParam !== null ? boolParam(forceParam) : null,
  };
}

/** DeleteOptions, wherever the request carried them. */
export interface DeleteOptions {
  dryRun: boolean;
  propagationPolicy?: PropagationPolicy;
  /** DeleteOptions.orphanDependents as given (deprecated; true is propagationPolicy Orphan) */
  orphanDependents?: boolean;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

const DELETE_OPTION_FIELDS = ['dryRun', 'propagationPolicy', 'orphanDependents', 'gracePeriodSeconds', 'preconditions', 'ignoreStoreReadErrorWithClusterBreakingPotential'];

function bodyType(value: unknown, field: string, want: 'string' | 'boolean' | 'int64' | 'object' | '[]string'): void {
  if (value === undefined || value === null) return;
  const ok = want === 'int64' ? Number.isSafeInteger(value)
    : want === 'object' ? typeof value === 'object' && !Array.isArray(value)
      : want === '[]string' ? Array.isArray(value) && value.every((v) => typeof v === 'string')
        : typeof value === want;
  if (!ok) {
    const got = Array.isArray(value) ? 'array' : typeof value === 'number' ? 'number' : typeof value;
    throw badRequest(`json: cannot unmarshal ${got} into Go struct field DeleteOptions.${field} of type ${want}`);
  }
}

/**
 * DeleteOptions of delete and deletecollection, read as kube-apiserver reads them: from the DeleteOptions body
 * (kubectl and client-go send them there) and from the query string (other clients). kube-apiserver reads the query
 * only when there is no body; here a field the body leaves out may come from the query, and `dryRun` in either place
 * makes the request a dry run, so no combination of the two can turn a dry run into a real delete. The result is
 * validated as ValidateDeleteOptions does (422 naming the option).
 */
export function deleteOptions(q: URLSearchParams, body: any): DeleteOptions {
  if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) {
    throw badRequest('DeleteOptions: the request body must be a JSON object (a DeleteOptions)');
  }
  const b: Record<string, unknown> = body ?? {};
  if (b.kind !== undefined && b.kind !== 'DeleteOptions') {
    throw badRequest(`DeleteOptions: the request body is a ${JSON.stringify(b.kind)}, not a DeleteOptions`);
  }
  bodyType(b.dryRun, 'dryRun', '[]string');
  bodyType(b.propagationPolicy, 'propagationPolicy', 'string');
  bodyType(b.orphanDependents, 'orphanDependents', 'boolean');
  bodyType(b.gracePeriodSeconds, 'gracePeriodSeconds', 'int64');
  bodyType(b.preconditions, 'preconditions', 'object');
  bodyType(b.ignoreStoreReadErrorWithClusterBreakingPotential, 'ignoreStoreReadErrorWithClusterBreakingPotential', 'boolean');
  const pre = b.preconditions as Record<string, unknown> | undefined | null;
  if (pre) {
    for (const k of ['uid', 'resourceVersion']) {
      if (pre[k] !== undefined && pre[k] !== null && typeof pre[k] !== 'string') {
        throw badRequest(`json: cannot unmarshal ${typeof pre[k]} into Go struct field Preconditions.preconditions.${k} of type string`);
      }
    }
  }
  const has = (k: string) => b[k] !== undefined && b[k] !== null;
  const dryRun = [...((b.dryRun as string[] | undefined) ?? []), ...q.getAll('dryRun')];
  const policy = has('propagationPolicy') ? (b.propagationPolicy as string) : q.get('propagationPolicy') ?? undefined;
  const orphanQ = q.get('orphanDependents');
  const orphan = has('orphanDependents') ? (b.orphanDependents as boolean) : orphanQ !== null ? boolParam(orphanQ) : undefined;
  const grace = has('gracePeriodSeconds') ? (b.gracePeriodSeconds as number) : intParam(q, 'gracePeriodSeconds');
  const ignoreQ = q.get('ignoreStoreReadErrorWithClusterBreakingPotential');
  const ignore = has('ignoreStoreReadErrorWithClusterBreakingPotential') ? b.ignoreStoreReadErrorWithClusterBreakingPotential === true : ignoreQ !== null && boolParam(ignoreQ);

  const errors: FieldError[] = [];
  if (orphan !== undefined && policy !== undefined) {
    errors.push({ type: 'FieldValueInvalid', field: 'propagationPolicy', value: policy, detail: 'orphanDependents and deletionPropagation cannot be both set' });
  }
  if (policy !== undefined && !['Foreground', 'Background', 'Orphan'].includes(policy)) {
    errors.push({ type: 'FieldValueNotSupported', field: 'propagationPolicy', value: policy, detail: 'supported values: "Foreground", "Background", "Orphan", "nil"' });
  }
  errors.push(...dryRunErrors(dryRun));
  if (ignore) {
    // validation of the unsafe option: it goes with nothing else (the embedded store has no unreadable objects to skip)
    if (dryRun.length) errors.push({ type: 'FieldValueInvalid', field: 'dryRun', raw: goStrings(dryRun), detail: 'cannot be set together with ignoreStoreReadErrorWithClusterBreakingPotential' });
    if (policy !== undefined) errors.push({ type: 'FieldValueInvalid', field: 'propagationPolicy', value: policy, detail: 'cannot be set together with ignoreStoreReadErrorWithClusterBreakingPotential' });
    if (grace !== undefined && grace !== 0) errors.push({ type: 'FieldValueInvalid', field: 'gracePeriodSeconds', value: grace, detail: 'cannot be set together with ignoreStoreReadErrorWithClusterBreakingPotential' });
    if (pre) errors.push({ type: 'FieldValueInvalid', field: 'preconditions', raw: 'Preconditions', detail: 'cannot be set together with ignoreStoreReadErrorWithClusterBreakingPotential' });
  }
  if (errors.length) throw optionsInvalid('DeleteOptions', errors);
  const effective: PropagationPolicy | undefined = orphan !== undefined ? (orphan ? 'Orphan' : 'Background') : (policy as PropagationPolicy | undefined);
  return {
    dryRun: dryRun.length > 0,
    ...(effective ? { propagationPolicy: effective } : {}),
    ...(orphan !== undefined ? { orphanDependents: orphan } : {}),
    ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}),
    ...(pre ? { preconditions: { ...(typeof pre.uid === 'string' ? { uid: pre.uid } : {}), ...(typeof pre.resourceVersion === 'string' ? { resourceVersion: pre.resourceVersion } : {}) } } : {}),
  };
}

export { DELETE_OPTION_FIELDS };

/** A resourceVersion option: '' (absent), '0', or a number; anything else is a 400. */
export function parseResourceVersion(rv: string, what = 'resource version'): number | '' | '0' {
  if (rv === '' || rv === '0') return rv;
  if (!/^\d+$/.test(rv)) throw badRequest(`invalid ${what}: ${rv}`);
  return Number(rv);
}

export type ResourceVersionMatch = '' | 'Exact' | 'NotOlderThan';

/** ListOptions of list, watch and deletecollection. */
export interface ListOptions {
  labelSelector: string | null;
  fieldSelector: string | null;
  watch: boolean;
  allowWatchBookmarks: boolean;
  resourceVersion: string;
  resourceVersionMatch: ResourceVersionMatch;
  /** watch: when the server ends the watch; list: answered at once, so never reached */
  timeoutSeconds?: number;
  limit: number;
  continue: string;
  /**
   * absent (undefined), true or false, each with its own watch semantics; true is a watch-list request (initial state,
   * then the `k8s.io/initial-events-end` bookmark) only together with allowWatchBookmarks, as in the watch cache
   */
  sendInitialEvents?: boolean;
}

/** ListOptions as the parameter codec decodes them, then ValidateListOptions (with the WatchList feature on, as in 1.32). */
export function listOptions(q: URLSearchParams, verb: 'list' | 'watch' | 'deletecollection'): ListOptions {
  const watch = verb === 'watch';
  const bookmarks = q.get('allowWatchBookmarks');
  const sie = q.get('sendInitialEvents');
  const limit = intParam(q, 'limit') ?? 0;
  const timeoutSeconds = intParam(q, 'timeoutSeconds');
  const opts: ListOptions = {
    labelSelector: q.get('labelSelector'),
    fieldSelector: q.get('fieldSelector'),
    watch,
    allowWatchBookmarks: bookmarks !== null && boolParam(bookmarks),
    resourceVersion: q.get('resourceVersion') ?? '',
    resourceVersionMatch: (q.get('resourceVersionMatch') ?? '') as ResourceVersionMatch,
    ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
    limit: limit > 0 ? limit : 0,
    continue: q.get('continue') ?? '',
    ...(sie !== null ? { sendInitialEvents: boolParam(sie) } : {}),
  };
  const errors: FieldError[] = [];
  const match = opts.resourceVersionMatch;
  const forbidden = (field: string, detail: string) => errors.push({ type: 'FieldValueForbidden', field, detail });
  if (watch) {
    if (opts.sendInitialEvents !== undefined && match !== 'NotOlderThan') forbidden('resourceVersionMatch', 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan');
    if (match) {
      if (opts.sendInitialEvents === undefined) forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided');
      if (match !== 'NotOlderThan') errors.push({ type: 'FieldValueNotSupported', field: 'resourceVersionMatch', value: match, detail: 'supported values: "NotOlderThan"' });
      if (opts.continue) forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided');
    }
  } else {
    if (match) {
      if (!opts.resourceVersion) forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden unless resourceVersion is provided');
      if (opts.continue) forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided');
      if (match !== 'Exact' && match !== 'NotOlderThan') errors.push({ type: 'FieldValueNotSupported', field: 'resourceVersionMatch', value: match, detail: 'supported values: "Exact", "NotOlderThan", ""' });
      if (match === 'Exact' && opts.resourceVersion === '0') forbidden('resourceVersionMatch', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
    }
    if (opts.sendInitialEvents !== undefined) forbidden('sendInitialEvents', 'sendInitialEvents is forbidden for list');
  }
  if (errors.length) throw optionsInvalid('ListOptions', errors);
  if (!watch && opts.continue && opts.resourceVersion && opts.resourceVersion !== '0') {
    // the storage layer's answer (etcd3 store GetList)
    throw badRequest('specifying resource version is not allowed when using continue');
  }
  return opts;
}
