/**
 * EventBridge event-pattern matcher: pure, no I/O.
 *
 * Semantics follow Amazon EventBridge as documented in
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
 * and the open-source engine EventBridge uses (aws/event-ruler: JsonRuleCompiler, CIDR, WildcardParser), whose
 * rejection messages validatePattern() reproduces verbatim (followed by " at <path>").
 *
 * - Fields are ANDed; the values in a field's array are ORed; `$or` (>= 2 objects, nestable) forks alternatives.
 * - A leaf matches an event array when any element matches; an object pattern matches an array of objects when one
 *   element matches the whole sub-pattern (event-ruler's array consistency).
 * - Only leaves carry values: an object (or an empty array) at a leaf path counts as absent, so
 *   `{ "exists": false }` matches it and `{ "exists": true }` does not.
 * - String operators (prefix, suffix, equals-ignore-case, wildcard, cidr) match strings only; `numeric` matches
 *   JSON numbers only, in [-5e9, 5e9], to six decimal places; `anything-but` matches any present value not excluded.
 */

export type EventPattern = { [key: string]: unknown };

import { compileCidr, compileWildcard, eventNumKey, fail, InvalidEventPatternError, ipHex, looksLikeIp, NUMERIC_LIMIT, numKey, type Matcher, type Prim } from './pattern-values.ts';

export { InvalidEventPatternError };

interface ObjectNode {
  fields: Array<[string, ObjectNode | Matcher[]]>;
  /** each entry is one `$or`: the object matches when, for every `$or`, at least one alternative matches. */
  ors: ObjectNode[][];
}

const RESERVED_IN_OR = new Set([
  'exactly', 'equals-ignore-case', 'prefix', 'suffix', 'anything-but', 'exists', 'wildcard', 'numeric', 'cidr',
  '=', '<', '<=', '>', '>=', 'regex', 'not-wildcard', 'not-equals-ignore-case', 'date-after', 'date-on-or-after',
  'date-before', 'date-on-or-before', 'in-date-range', 'ip-address-in-range', 'ip-address-not-in-range',
]);


function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}


function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function tokenText(v: unknown): string {
  if (Array.isArray(v)) return '[';
  if (isObject(v)) return '{';
  return v === undefined ? ']' : JSON.stringify(v);
}

// ---------- match expressions ----------

function oneKey(expr: Record<string, unknown>, path: string, message = 'Only one key allowed in match expression'): void {
  if (Object.keys(expr).length > 1) fail(message, path);
}

function compileAnythingBut(value: unknown, path: string): Matcher {
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) fail('Anything-But expression name not found', path);
    const op = keys[0];
    if (!['equals-ignore-case', 'prefix', 'suffix', 'wildcard'].includes(op)) fail(`Unsupported anything-but pattern: ${op}`, path);
    const inner = value[op];
    if (!(Array.isArray(inner) || typeof inner === 'string' || typeof inner === 'number')) {
      fail('Value of anything-but must be an array or single string/number value.', path);
    }
    const list = Array.isArray(inner) ? inner : [inner];
    const badType =
      op === 'equals-ignore-case'
        ? 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.'
        : op === 'wildcard'
          ? 'wildcard match pattern must be a string'
          : 'prefix/suffix match pattern must be a string';
    const strings: string[] = [];
    for (const v of list) {
      if (typeof v !== 'string') fail(badType, path);
      if ((op === 'prefix' || op === 'suffix') && v === '') fail('Null prefix/suffix not allowed', path);
      strings.push(v);
    }
    if (keys.length > 1) fail('Too many elements in numeric expression', path);
    switch (op) {
      case 'equals-ignore-case': {
        const lowered = new Set(strings.map((s) => s.toLowerCase()));
        return { t: 'anything-but', test: (v) => typeof v !== 'string' || !lowered.has(v.toLowerCase()) };
      }
      case 'prefix':
        return { t: 'anything-but', test: (v) => typeof v !== 'string' || !strings.some((p) => v.startsWith(p)) };
      case 'suffix':
        return { t: 'anything-but', test: (v) => typeof v !== 'string' || !strings.some((p) => v.endsWith(p)) };
      default: {
        const res = strings.map((s) => compileWildcard(s, path));
        return { t: 'anything-but', test: (v) => typeof v !== 'string' || !res.some((re) => re.test(v)) };
      }
    }
  }
  if (Array.isArray(value)) {
    let hasNumber = false;
    let hasString = false;
    for (const v of value) {
      if (typeof v === 'string') hasString = true;
      else if (typeof v === 'number') hasNumber = true;
      else fail('Inside anything but list, start|null|boolean is not supported.', path);
    }
    if (hasNumber === hasString) fail('Inside anything but list, either all values are number or string, mixed type is not supported', path);
    if (hasNumber) {
      const keys = new Set(value.map((n) => numKey(n as number, path)));
      return { t: 'anything-but', test: (v) => typeof v !== 'number' || !keys.has(eventNumKey(v) ?? NaN) };
    }
    const set = new Set(value as string[]);
    return { t: 'anything-but', test: (v) => typeof v !== 'string' || !set.has(v) };
  }
  if (typeof value === 'string') return { t: 'anything-but', test: (v) => v !== value };
  if (typeof value === 'number') {
    const key = numKey(value, path);
    return { t: 'anything-but', test: (v) => typeof v !== 'number' || eventNumKey(v) !== key };
  }
  return fail('Value of anything-but must be an array or single string/number value.', path);
}

function compileNumeric(value: unknown, path: string): Matcher {
  if (!Array.isArray(value)) fail('Value of numeric must be an array.', path);
  const [op, a, op2, b, ...rest] = value;
  if (typeof op !== 'string') fail(`Invalid member in numeric match: ${tokenText(op)}`, path);
  const isNum = (x: unknown): x is number => typeof x === 'number';
  const lowBound = -NUMERIC_LIMIT * 1e6;
  const highBound = NUMERIC_LIMIT * 1e6;
  switch (op) {
    case '=': {
      if (!isNum(a)) fail('Value of equals must be numeric', path);
      if (value.length > 2) fail('Too many elements in numeric expression', path);
      const k = numKey(a, path);
      return { t: 'numeric', lo: k, loOpen: false, hi: k, hiOpen: false };
    }
    case '<':
    case '<=': {
      if (!isNum(a)) fail(`Value of ${op} must be numeric`, path);
      if (value.length > 2) fail('Too many elements in numeric expression', path);
      return { t: 'numeric', lo: lowBound, loOpen: false, hi: numKey(a, path), hiOpen: op === '<' };
    }
    case '>':
    case '>=': {
      if (!isNum(a)) fail(`Value of ${op} must be numeric`, path);
      const lo = numKey(a, path);
      if (value.length === 2) return { t: 'numeric', lo, loOpen: op === '>', hi: highBound, hiOpen: false };
      if (typeof op2 !== 'string') fail(`Bad value in numeric range: ${tokenText(op2)}`, path);
      if (op2 !== '<' && op2 !== '<=') fail(`Bad numeric range operator: ${op2}`, path);
      if (!isNum(b)) fail(`Value of ${op2} must be numeric`, path);
      if (rest.length > 0) fail('Too many terms in numeric range expression', path);
      const hi = numKey(b, path);
      if (lo >= hi) fail('Bottom must be less than top', path);
      return { t: 'numeric', lo, loOpen: op === '>', hi, hiOpen: op2 === '<' };
    }
    default:
      return fail(`Unrecognized numeric range operator: ${op}`, path);
  }
}

function compileStringOp(op: 'prefix' | 'suffix', value: unknown, expr: Record<string, unknown>, path: string): Matcher {
  if (isObject(value)) {
    const keys = Object.keys(value);
    const Name = op === 'prefix' ? 'Prefix' : 'Suffix';
    if (keys.length === 0) fail(`${Name} expression name not found`, path);
    if (keys[0] !== 'equals-ignore-case') fail(`Unsupported ${op} pattern: ${keys[0]}`, path);
    if (typeof value[keys[0]] !== 'string') fail('equals-ignore-case match pattern must be a string', path);
    oneKey(value, path);
    oneKey(expr, path);
    return { t: op, v: (value[keys[0]] as string).toLowerCase(), ci: true };
  }
  if (typeof value !== 'string') fail(`${op} match pattern must be a string`, path);
  oneKey(expr, path);
  return { t: op, v: value, ci: false };
}

function compileExpression(expr: Record<string, unknown>, path: string): Matcher {
  const keys = Object.keys(expr);
  if (keys.length === 0) fail('Match expression name not found', path);
  const name = keys[0];
  const value = expr[name];
  switch (name) {
    case 'exactly':
      if (typeof value !== 'string') fail('exact match pattern must be a string', path);
      oneKey(expr, path);
      return { t: 'exact', v: value };
    case 'prefix':
    case 'suffix':
      return compileStringOp(name, value, expr, path);
    case 'equals-ignore-case':
      if (typeof value !== 'string') fail('equals-ignore-case match pattern must be a string', path);
      oneKey(expr, path);
      return { t: 'eic', v: value.toLowerCase() };
    case 'wildcard': {
      if (typeof value !== 'string') fail('wildcard match pattern must be a string', path);
      const re = compileWildcard(value, path);
      oneKey(expr, path);
      return { t: 'wildcard', re };
    }
    case 'numeric': {
      const m = compileNumeric(value, path);
      oneKey(expr, path, 'Too many elements in numeric expression');
      return m;
    }
    case 'anything-but': {
      const m = compileAnythingBut(value, path);
      oneKey(expr, path, 'Too many elements in numeric expression');
      return m;
    }
    case 'exists':
      if (typeof value !== 'boolean') fail('exists match pattern must be either true or false.', path);
      oneKey(expr, path);
      return { t: 'exists', v: value };
    case 'cidr': {
      if (typeof value !== 'string') fail('prefix match pattern must be a string', path);
      const m = compileCidr(value, path);
      oneKey(expr, path);
      return m;
    }
    default:
      return fail(`Unrecognized match type ${name}`, path);
  }
}

function compileLeaf(values: unknown[], path: string): Matcher[] {
  const out: Matcher[] = [];
  for (const v of values) {
    if (isObject(v)) out.push(compileExpression(v, path));
    else if (typeof v === 'string') out.push(looksLikeIp(v) && ipHex(v) ? { t: 'exact', v, ip: ipHex(v) as string } : { t: 'exact', v });
    else if (typeof v === 'number' || typeof v === 'boolean' || v === null) out.push({ t: 'exact', v });
    else fail('Match value must be String, number, true, false, or null', path);
  }
  if (out.length === 0) fail('Empty arrays are not allowed', path);
  return out;
}

function compileObject(obj: Record<string, unknown>, path: string, insideOr: boolean): ObjectNode {
  const node: ObjectNode = { fields: [], ors: [] };
  const keys = Object.keys(obj);
  if (keys.length === 0) fail('Empty objects are not allowed', path);
  for (const key of keys) {
    const value = obj[key];
    if (key === '$or') {
      if (!Array.isArray(value)) fail('It must be an Array followed with $or.', join(path, key));
      const alternatives: ObjectNode[] = [];
      for (const alt of value) {
        if (!isObject(alt)) fail('Only JSON object is allowed in array of $or relationship.', join(path, key));
        alternatives.push(compileObject(alt, path, true));
      }
      if (alternatives.length < 2) fail('There must have at least 2 Objects in $or relationship.', join(path, key));
      node.ors.push(alternatives);
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(key)) fail(`${key} is Ruler reserved fieldName which cannot be used inside $or.`, join(path, key));
    if (isObject(value)) node.fields.push([key, compileObject(value, join(path, key), insideOr)]);
    else if (Array.isArray(value)) node.fields.push([key, compileLeaf(value, join(path, key))]);
    else fail(`"${key}" must be an object or an array`, join(path, key));
  }
  return node;
}

const cache = new WeakMap<object, ObjectNode>();

/** Compile a pattern (object or JSON text); throws InvalidEventPatternError with EventBridge's reason. */
export function compilePattern(pattern: unknown): ObjectNode {
  if (typeof pattern === 'object' && pattern !== null) {
    const hit = cache.get(pattern);
    if (hit) return hit;
  }
  let parsed = pattern;
  if (typeof pattern === 'string') {
    try {
      parsed = JSON.parse(pattern);
    } catch (err) {
      fail(`Event pattern is not valid JSON: ${(err as Error).message}`, '');
    }
  }
  if (!isObject(parsed)) fail('Filter is not an object', '');
  const node = compileObject(parsed, '', false);
  if (typeof pattern === 'object' && pattern !== null) cache.set(pattern, node);
  return node;
}

/** null when EventBridge would accept the pattern, otherwise its reason (followed by " at <path>"). */
export function validatePattern(pattern: unknown): string | null {
  try {
    compilePattern(pattern);
    return null;
  } catch (err) {
    if (err instanceof InvalidEventPatternError) return err.path ? `${err.reason} at ${err.path}` : err.reason;
    throw err;
  }
}

// ---------- evaluation ----------

function leafValues(v: unknown, out: Prim[]): Prim[] {
  if (Array.isArray(v)) for (const e of v) leafValues(e, out);
  else if (!isObject(v) && v !== undefined) out.push(v as Prim);
  return out;
}

function matchOne(m: Matcher, v: Prim): boolean {
  switch (m.t) {
    case 'exact':
      if (m.ip !== undefined && typeof v === 'string') return ipHex(v) === m.ip || v === m.v;
      if (typeof m.v === 'number') return typeof v === 'number' && (v === m.v || (eventNumKey(v) !== null && eventNumKey(v) === eventNumKey(m.v)));
      return v === m.v;
    case 'prefix':
      return typeof v === 'string' && (m.ci ? v.toLowerCase().startsWith(m.v) : v.startsWith(m.v));
    case 'suffix':
      return typeof v === 'string' && (m.ci ? v.toLowerCase().endsWith(m.v) : v.endsWith(m.v));
    case 'eic':
      return typeof v === 'string' && v.toLowerCase() === m.v;
    case 'wildcard':
      return typeof v === 'string' && m.re.test(v);
    case 'numeric': {
      if (typeof v !== 'number') return false;
      const k = eventNumKey(v);
      if (k === null) return false;
      return (m.loOpen ? k > m.lo : k >= m.lo) && (m.hiOpen ? k < m.hi : k <= m.hi);
    }
    case 'cidr': {
      if (typeof v !== 'string') return false;
      const hex = ipHex(v);
      return hex !== null && hex.length === m.lo.length && hex >= m.lo && hex <= m.hi;
    }
    case 'exists':
      return m.v;
    case 'anything-but':
      return m.test(v);
  }
}

function matchLeaf(matchers: Matcher[], v: unknown): boolean {
  const values = leafValues(v, []);
  if (values.length === 0) return matchers.some((m) => m.t === 'exists' && !m.v);
  return values.some((value) => matchers.some((m) => matchOne(m, value)));
}

function matchObject(node: ObjectNode, v: unknown): boolean {
  if (Array.isArray(v)) {
    // an object pattern against an array: one element has to satisfy the whole sub-pattern
    if (v.some((e) => matchObject(node, e))) return true;
    if (v.some((e) => isObject(e) || Array.isArray(e))) return false;
    return matchObject(node, undefined);
  }
  const obj = isObject(v) ? v : undefined;
  for (const [key, child] of node.fields) {
    const value = obj ? obj[key] : undefined;
    if (Array.isArray(child) ? !matchLeaf(child, value) : !matchObject(child, value)) return false;
  }
  for (const alternatives of node.ors) {
    if (!alternatives.some((alt) => matchObject(alt, v))) return false;
  }
  return true;
}

/** Does `event` match `pattern`? Throws InvalidEventPatternError for an invalid pattern. */
export function matches(pattern: unknown, event: unknown): boolean {
  return matchObject(compilePattern(pattern), event);
}
