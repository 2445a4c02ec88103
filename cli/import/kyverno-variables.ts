/**
 * `ripple import kyverno`: a rule's `context` variables with literal values (`variable.value`), inlined where the
 * rule uses them (`{{source}}` in generate.name, clone.name, match names, messages…). Context entries that compute
 * their value when a request arrives (jmesPath, apiCall, configMap, imageRegistry, globalReference) have no
 * build-time value and are refused, naming the entry and what to write instead.
 */
import type { Seg } from '../../core/policy/load.ts';
import { isObj, type Obj, type RuleContext } from './kyverno-context.ts';

type Scalar = string | number | boolean;

const SOURCES: Record<string, string> = {
  configMap: 'reads a ConfigMap when a request arrives',
  apiCall: 'calls the Kubernetes API (or a service) when a request arrives',
  imageRegistry: 'reads image data from a registry when a request arrives',
  globalReference: 'reads a GlobalContextEntry when a request arrives',
};

/** Kyverno's built-in variables: a context entry by one of these names would shadow it. */
const BUILT_IN = ['request', 'element', 'elementIndex', 'images', 'serviceAccountName', 'serviceAccountNamespace', 'target'];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Replace `{{ name }}` (the whole reference, blanks allowed) by the value in every string below `v`. */
function substitute(v: unknown, vars: Map<string, Scalar>): unknown {
  if (typeof v === 'string') {
    let out = v;
    for (const [name, value] of vars) {
      const whole = new RegExp(`^\\{\\{\\s*${escape(name)}\\s*\\}\\}$`);
      if (whole.test(out.trim()) && typeof value !== 'string') return value;
      out = out.replace(new RegExp(`\\{\\{\\s*${escape(name)}\\s*\\}\\}`, 'g'), String(value));
    }
    return out;
  }
  if (Array.isArray(v)) return v.map((x) => substitute(x, vars));
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, vars)]));
  return v;
}

/** Every string below `v` that still uses `name` inside a `{{ … }}` expression, with its path. */
function leftovers(v: unknown, name: string, rel: Seg[], out: { rel: Seg[]; text: string }[]): void {
  if (typeof v === 'string') {
    const re = new RegExp(`\\{\\{[^}]*(?<![\\w.])${escape(name)}(?![\\w])[^}]*\\}\\}`);
    if (re.test(v)) out.push({ rel, text: v });
  } else if (Array.isArray(v)) v.forEach((x, i) => leftovers(x, name, [...rel, i], out));
  else if (isObj(v)) for (const [k, x] of Object.entries(v)) leftovers(x, name, [...rel, k], out);
}

/**
 * The rule with its literal context variables inlined and `context` removed (paths of everything else unchanged,
 * so positions still point into the original file). Returns null when a context entry cannot be inlined (reported).
 */
export function inlineContext(ctx: RuleContext, rule: Obj): Obj | null {
  if (rule.context === undefined) return rule;
  if (!Array.isArray(rule.context)) {
    ctx.fail(['context'], 'context must be a list of entries');
    return null;
  }
  const vars = new Map<string, Scalar>();
  let ok = true;
  rule.context.forEach((entry: unknown, i: number) => {
    const rel: Seg[] = ['context', i];
    if (!isObj(entry) || typeof entry.name !== 'string' || entry.name === '') {
      ok = false;
      return void ctx.fail(rel, 'a context entry needs a name');
    }
    const name = entry.name;
    if (BUILT_IN.includes(name.split('.')[0])) {
      ok = false;
      return void ctx.fail([...rel, 'name'], `context variable "${name}" shadows Kyverno's built-in variable ${name.split('.')[0]}; rename it`);
    }
    const source = Object.keys(entry).find((k) => k !== 'name');
    if (source !== undefined && SOURCES[source]) {
      ok = false;
      return void ctx.fail(
        [...rel, source],
        `context variable "${name}" ${SOURCES[source]} (context.${source}): ripple policies are resolved when they are imported, not per request, so only literal values (variable.value) can be inlined; write the value into the rule`,
      );
    }
    const variable = entry.variable;
    if (!isObj(variable) || Object.keys(entry).some((k) => k !== 'name' && k !== 'variable')) {
      ok = false;
      return void ctx.fail(rel, `context entry "${name}": only variable.value (a literal) is supported`);
    }
    if (variable.jmesPath !== undefined) {
      ok = false;
      return void ctx.fail(
        [...rel, 'variable', 'jmesPath'],
        `context variable "${name}" is computed per request (variable.jmesPath ${JSON.stringify(variable.jmesPath)}): only literal values (variable.value) can be inlined; write the value into the rule`,
      );
    }
    if (Object.keys(variable).some((k) => k !== 'value' && k !== 'default') || variable.value === undefined) {
      ok = false;
      return void ctx.fail([...rel, 'variable'], `context variable "${name}": only variable.value (a literal) is supported`);
    }
    const value = substitute(variable.value, vars);
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      vars.set(name, value);
      ctx.notes.push(`context variable ${name} = ${JSON.stringify(value)} inlined`);
    } else {
      ok = false;
      ctx.fail([...rel, 'variable', 'value'], `context variable "${name}" holds a ${Array.isArray(value) ? 'list' : 'mapping'}: only a string, number or boolean can be inlined`);
    }
  });
  if (!ok) return null;
  const { context: _context, ...rest } = rule;
  const out = substitute(rest, vars) as Obj;
  for (const name of vars.keys()) {
    const left: { rel: Seg[]; text: string }[] = [];
    leftovers(out, name, [], left);
    for (const l of left) {
      ok = false;
      ctx.fail(l.rel, `context variable "${name}" is used in an expression (${JSON.stringify(l.text)}), which ripple cannot evaluate; use {{${name}}} alone or write the value`);
    }
  }
  return ok ? out : null;
}
