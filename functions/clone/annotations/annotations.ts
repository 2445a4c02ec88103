/**
 * Reflector's and Replicator's annotations: their names, and how each tool reads them (pure). What is read here is
 * exactly what the tools read, value for value:
 *
 * emberstack Reflector (src/ES.Kubernetes.Reflector/Mirroring/Core: Annotations.cs, MirroringPropertiesExtensions.cs)
 * - booleans as .NET `bool.TryParse`: "true"/"false" in any case, surrounding spaces ignored; anything else is false.
 * - namespace lists: comma separated, empty entries dropped, each entry trimmed and run as a regular expression whose
 *   FIRST match must cover the whole name (`Regex.Match(ns, p)` with `match.Value.Length == ns.Length`). An absent or
 *   empty annotation matches every namespace; a list of only commas or spaces matches none.
 * - `reflects`: `namespace/name`; anything else is not a reflection at all.
 *
 * mittwald Replicator (replicate/common: consts.go, generic-replicator.go, common.go)
 * - booleans as Go `strconv.ParseBool`: 1, t, T, TRUE, true, True (false: 0, f, F, FALSE, false, False); anything
 *   else is an error, i.e. not allowed.
 * - namespace lists: comma separated, each entry trimmed, `^` prepended unless it starts with one and `$` appended
 *   unless it ends with one (`BuildStrictRegex`: `a|b` becomes `^a|b$`, as in Replicator); an entry that does not
 *   compile is skipped. `replication-allowed-namespaces` absent = not allowed (unlike Reflector).
 * - `replicate-from`: `namespace/name` (split on the first "/"); anything else is an invalid source location.
 * - `replicate-to-matching`: a Kubernetes label selector string (`a=b,c,d notin (x,y),!e`); invalid = no push by it.
 *
 * Patterns come from annotations anyone who may edit a Secret can write; JavaScript's engine backtracks, so a
 * pattern with a construct that could take exponential time (functions/runtime/regex.ts `backtrackSafe`)
 * is compared as an exact name instead of run. RE2 (Go) has no lookarounds or backreferences either.
 */
import { createHash } from 'node:crypto';
import { backtrackSafe } from '../../runtime/regex.ts';

const RF = 'reflector.v1.k8s.emberstack.com/';
export const REFLECTOR = {
  allowed: `${RF}reflection-allowed`,
  allowedNamespaces: `${RF}reflection-allowed-namespaces`,
  autoEnabled: `${RF}reflection-auto-enabled`,
  autoNamespaces: `${RF}reflection-auto-namespaces`,
  reflects: `${RF}reflects`,
  /** Written by Reflector (and ripple) on its copies. */
  autoReflects: `${RF}auto-reflects`,
  reflectedVersion: `${RF}reflected-version`,
  reflectedAt: `${RF}reflected-at`,
} as const;

const RP = 'replicator.v1.mittwald.de/';
export const REPLICATOR = {
  allowed: `${RP}replication-allowed`,
  allowedNamespaces: `${RP}replication-allowed-namespaces`,
  replicateTo: `${RP}replicate-to`,
  replicateToMatching: `${RP}replicate-to-matching`,
  replicateFrom: `${RP}replicate-from`,
  replicateOnce: `${RP}replicate-once`,
  replicateOnceVersion: `${RP}replicate-once-version`,
  stripLabels: `${RP}strip-labels`,
  keepOwnerReferences: `${RP}keep-owner-references`,
  /** Written by Replicator (and ripple) on its copies and pull targets. */
  replicatedAt: `${RP}replicated-at`,
  replicatedFromVersion: `${RP}replicated-from-version`,
  replicatedKeys: `${RP}replicated-keys`,
} as const;

/**
 * ripple's mark on a copy it pushed for Replicator's `replicate-to`/`replicate-to-matching`: `Kind/namespace/name`
 * of the source. Replicator's own push copies name no source (replicated-from-version only); the mark is what lets
 * ripple tell its copy from any other object of that name (it never overwrites one that is not: see plan.ts).
 */
export const ANN_REPLICATED_FROM = 'ripple.dev/replicated-from';

/**
 * ripple's label on a pull target it wrote: a hash of (tool, kind, source namespace/name), so a change of the source
 * finds its pull targets with one label-selected list instead of reading every object of the kind. Set with the
 * first pulled content (no extra write); a target refused so far carries none (a change of the source's
 * annotations, or the schedule, looks at every object: reconcile.ts).
 */
export const LABEL_PULLS_FROM = 'ripple.dev/pulls-from';
export function pullLabelValue(tool: 'reflector' | 'replicator', kind: string, source: { namespace: string; name: string }): string {
  return createHash('sha256').update(`${tool}/${kind}/${source.namespace}/${source.name}`).digest('hex').slice(0, 40);
}

/**
 * The annotation keys whose presence on a Secret/ConfigMap concerns a mode (its event must reach the clone
 * handler): sources (allow, auto, push), pull targets and copies.
 */
export const TRIGGER_KEYS = {
  // an auto source is always an allowed one too (auto needs reflection-allowed: "true")
  reflector: [REFLECTOR.allowed, REFLECTOR.reflects],
  replicator: [REPLICATOR.allowed, REPLICATOR.replicateTo, REPLICATOR.replicateToMatching, REPLICATOR.replicateFrom, ANN_REPLICATED_FROM],
} as const;

type Annotations = Record<string, string> | undefined;

/** .NET bool.TryParse (Reflector): true only for "true" in any case, spaces around ignored. */
export function dotnetTrue(v: string | undefined): boolean {
  return v !== undefined && v.trim().toLowerCase() === 'true';
}

/** Go strconv.ParseBool (Replicator): true, false, or null for an error. */
export function goBool(v: string | undefined): boolean | null {
  if (v === undefined) return null;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return null;
}

const compiled = new Map<string, RegExp | null>();
function compile(src: string): RegExp | null {
  if (compiled.has(src)) return compiled.get(src)!;
  let re: RegExp | null = null;
  if (backtrackSafe(src)) {
    try {
      re = new RegExp(src);
    } catch {
      re = null;
    }
  }
  if (compiled.size > 10_000) compiled.clear();
  compiled.set(src, re);
  return re;
}

/** One Reflector pattern entry against a namespace: the first match must be the whole name. */
function reflectorEntryMatches(entry: string, ns: string): boolean {
  const re = compile(entry);
  if (!re) return entry === ns; // not run: compared as an exact name
  const m = re.exec(ns);
  return m !== null && m.index === 0 && m[0].length === ns.length;
}

/** Reflector's PatternListMatch: absent/empty list = every namespace. */
export function reflectorListMatches(list: string | undefined, ns: string): boolean {
  if (list === undefined || list === '') return true;
  return list
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((s) => s.trim())
    .some((p) => reflectorEntryMatches(p, ns));
}

/** Replicator's BuildStrictRegex. */
export function strictRegex(entry: string): string {
  let r = entry.trim();
  if (!r.startsWith('^')) r = `^${r}`;
  if (!r.endsWith('$')) r = `${r}$`;
  return r;
}

/** Replicator's pattern list (StringToPatternList / the allowed-namespaces loop) against a namespace. */
export function replicatorListMatches(list: string, ns: string): boolean {
  return list.split(',').some((entry) => {
    const src = strictRegex(entry);
    const re = compile(src);
    // not run (unsafe): compared as the exact name the entry spells; an entry that does not compile never matches
    if (!re) return backtrackSafe(src) ? false : entry.trim() === ns;
    return re.test(ns);
  });
}

/** `namespace/name` (Reflector: exactly two non-empty parts; Replicator: split on the first "/"). */
export function parseRef(v: string | undefined, tool: 'reflector' | 'replicator'): { namespace: string; name: string } | null {
  if (v === undefined) return null;
  const s = tool === 'reflector' ? v.trim() : v;
  const i = s.indexOf('/');
  if (i < 0) return null;
  const namespace = s.slice(0, i);
  const name = s.slice(i + 1);
  if (tool === 'reflector' && (!namespace || !name || name.includes('/'))) return null;
  if (tool === 'replicator' && (!namespace || !name)) return null;
  return { namespace, name };
}

// ---- label selector strings (replicate-to-matching), Kubernetes labels.Parse ----

export type Requirement = { key: string; op: 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt'; values: string[] };

/** One requirement of a selector string: `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k>1`, `k<1`. */
const REQUIREMENT = /^(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9_.-]*)|\s(in|notin)\s*\(([^()]*)\)|(>|<)\s*(-?\d+))?$/;
const OPS = { '=': '=', '==': '=', '!=': '!=', in: 'in', notin: 'notin', '>': 'gt', '<': 'lt' } as const;

/** Parse a label selector string (Kubernetes labels.Parse); null when it does not parse (Replicator then pushes nothing by it). */
export function parseSelector(src: string): Requirement[] | null {
  if (src.trim() === '') return [];
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of src) {
    if (c === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
      continue;
    }
    depth += c === '(' ? 1 : c === ')' ? -1 : 0;
    cur += c;
  }
  parts.push(cur);
  const out: Requirement[] = [];
  for (const part of parts) {
    const m = REQUIREMENT.exec(part.trim());
    if (!m) return null;
    const [, not, key, eq, value, set, list, cmp, num] = m;
    if (not) {
      if (eq || set || cmp) return null;
      out.push({ key, op: '!exists', values: [] });
    } else if (eq) out.push({ key, op: OPS[eq as '='], values: [value] });
    else if (set) out.push({ key, op: OPS[set as 'in'], values: list.split(',').map((v) => v.trim()) });
    else if (cmp) out.push({ key, op: OPS[cmp as '>'], values: [num] });
    else out.push({ key, op: 'exists', values: [] });
  }
  return out;
}

/** Kubernetes selector semantics: `!=` and `notin` match an absent key. */
export function selectorMatches(reqs: readonly Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case '=':
      case 'in':
        return has && r.values.includes(v);
      case '!=':
      case 'notin':
        return !has || !r.values.includes(v);
      case 'gt':
        return has && /^-?\d+$/.test(v) && Number(v) > Number(r.values[0]);
      case 'lt':
        return has && /^-?\d+$/.test(v) && Number(v) < Number(r.values[0]);
    }
  });
}

// ---- what an object's annotations say ----

/** A Reflector source's properties (MirroringProperties). */
export interface ReflectorSource {
  allowed: boolean;
  allowedNamespaces: string | undefined;
  autoEnabled: boolean;
  autoNamespaces: string | undefined;
}

export function reflectorSource(a: Annotations): ReflectorSource {
  return {
    allowed: dotnetTrue(a?.[REFLECTOR.allowed]),
    allowedNamespaces: a?.[REFLECTOR.allowedNamespaces],
    autoEnabled: dotnetTrue(a?.[REFLECTOR.autoEnabled]),
    autoNamespaces: a?.[REFLECTOR.autoNamespaces],
  };
}

/** CanBeReflectedToNamespace: why not, or null when it may. */
export function reflectionRefused(p: ReflectorSource, ns: string): string | null {
  if (!p.allowed) return `${REFLECTOR.allowed} is not "true"`;
  if (!reflectorListMatches(p.allowedNamespaces, ns)) return `namespace ${ns} matches no entry of ${REFLECTOR.allowedNamespaces} "${p.allowedNamespaces}"`;
  return null;
}

/** CanBeAutoReflectedToNamespace: why not, or null when an auto copy belongs in `ns`. */
export function autoReflectionRefused(p: ReflectorSource, ns: string): string | null {
  const r = reflectionRefused(p, ns);
  if (r) return r;
  if (!p.autoEnabled) return `${REFLECTOR.autoEnabled} is not "true"`;
  if (!reflectorListMatches(p.autoNamespaces, ns)) return `namespace ${ns} matches no entry of ${REFLECTOR.autoNamespaces} "${p.autoNamespaces}"`;
  return null;
}

/** IsReplicationPermitted: why not, or null when `ns` may pull from a source with these annotations. */
export function replicationRefused(a: Annotations, ns: string): string | null {
  const allowed = goBool(a?.[REPLICATOR.allowed]);
  if (allowed !== true) return `${REPLICATOR.allowed} is ${a?.[REPLICATOR.allowed] === undefined ? 'missing' : `"${a[REPLICATOR.allowed]}", not true`}`;
  const list = a?.[REPLICATOR.allowedNamespaces];
  if (list === undefined) return `${REPLICATOR.allowedNamespaces} is missing`;
  if (!replicatorListMatches(list, ns)) return `namespace ${ns} matches no entry of ${REPLICATOR.allowedNamespaces} "${list}"`;
  return null;
}

/** Why Replicator's push annotations do not put a copy in `ns` (labels: the namespace's), or null when they do. */
export function pushRefused(a: Annotations, sourceNs: string, ns: string, nsLabels: Record<string, string> | undefined): string | null {
  if (ns === sourceNs) return 'the source namespace itself';
  const to = a?.[REPLICATOR.replicateTo];
  const matching = a?.[REPLICATOR.replicateToMatching];
  if (to !== undefined && replicatorListMatches(to, ns)) return null;
  if (matching !== undefined) {
    const sel = parseSelector(matching);
    if (sel === null) return `${REPLICATOR.replicateToMatching} "${matching}" is not a label selector`;
    if (selectorMatches(sel, nsLabels)) return null;
  }
  if (to === undefined && matching === undefined) return `neither ${REPLICATOR.replicateTo} nor ${REPLICATOR.replicateToMatching}`;
  return `namespace ${ns} matches neither ${to !== undefined ? `${REPLICATOR.replicateTo} "${to}"` : ''}${to !== undefined && matching !== undefined ? ' nor ' : ''}${matching !== undefined ? `${REPLICATOR.replicateToMatching} "${matching}"` : ''}`;
}

/** The source pushes (Replicator): it carries replicate-to or replicate-to-matching, and is not itself a pull target. */
export function isReplicatorPushSource(a: Annotations): boolean {
  return a?.[REPLICATOR.replicateFrom] === undefined && (a?.[REPLICATOR.replicateTo] !== undefined || a?.[REPLICATOR.replicateToMatching] !== undefined);
}

/** The source auto-reflects (Reflector): allowed and auto-enabled, and not itself a reflection. */
export function isReflectorAutoSource(a: Annotations): boolean {
  const p = reflectorSource(a);
  return p.allowed && p.autoEnabled && parseRef(a?.[REFLECTOR.reflects], 'reflector') === null;
}
