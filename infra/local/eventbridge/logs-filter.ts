/**
 * CloudWatch Logs filter-pattern matcher: pure, no I/O. What a subscription filter passes to its destination.
 *
 * Syntax as documented in
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/matching-terms-json-log-events.html
 *
 * - Empty pattern: every event.
 * - Terms: `ERROR Exception` (all terms, case-sensitive substrings), `"Failed to process"` (quoted phrase),
 *   `-Exiting` or `- "Exiting"` (exclude), `?ERROR ?WARN` (at least one of).
 * - JSON: `{ SELECTOR OP VALUE }` with selectors `$.a.b`, `$.list[0].id`, `$.m[0][1]`; `=`/`!=` on strings (a leading
 *   or trailing `*` is a wildcard, quotes optional for plain words) and numbers; `<`, `<=`, `>`, `>=` on numbers;
 *   `IS NULL`, `NOT EXISTS`, `IS TRUE`, `IS FALSE`; `&&`, `||` and parentheses with () > && > ||.
 *   A selector must point to a value node: when it points to an object or an array, or is missing, both `=` and `!=`
 *   are false. A message that is not a JSON object never matches a JSON pattern.
 * Space-delimited patterns (`[ip, user, ...]`) and `%regex%` terms are not implemented and are rejected by name.
 */

export class LogsFilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LogsFilterError';
  }
}

export type LogsFilter = (message: string) => boolean;

// ---------- term patterns ----------

interface Term {
  text: string;
  mode: 'require' | 'exclude' | 'any';
}

function parseTerms(pattern: string): Term[] {
  const terms: Term[] = [];
  let i = 0;
  let pendingExclude = false;
  while (i < pattern.length) {
    const c = pattern[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    let mode: Term['mode'] = pendingExclude ? 'exclude' : 'require';
    pendingExclude = false;
    if (c === '-' || c === '?') {
      const next = pattern[i + 1];
      if (c === '-' && (next === undefined || /\s/.test(next))) {
        pendingExclude = true;
        i++;
        continue;
      }
      mode = c === '-' ? 'exclude' : 'any';
      i++;
    }
    let text: string;
    if (pattern[i] === '"') {
      const end = pattern.indexOf('"', i + 1);
      if (end < 0) throw new LogsFilterError(`filter pattern ${JSON.stringify(pattern)}: unterminated quoted term at position ${i}`);
      text = pattern.slice(i + 1, end);
      i = end + 1;
    } else {
      const start = i;
      while (i < pattern.length && !/\s/.test(pattern[i])) i++;
      text = pattern.slice(start, i);
      if (text.startsWith('%') && text.endsWith('%') && text.length > 1) {
        throw new LogsFilterError(`filter pattern ${JSON.stringify(pattern)}: regular-expression terms (%…%) are not supported by the local matcher`);
      }
    }
    if (text === '') continue;
    terms.push({ text, mode });
  }
  if (pendingExclude) throw new LogsFilterError(`filter pattern ${JSON.stringify(pattern)}: "-" must be followed by a term`);
  return terms;
}

function compileTerms(pattern: string): LogsFilter {
  const terms = parseTerms(pattern);
  const required = terms.filter((t) => t.mode === 'require').map((t) => t.text);
  const excluded = terms.filter((t) => t.mode === 'exclude').map((t) => t.text);
  const anyOf = terms.filter((t) => t.mode === 'any').map((t) => t.text);
  return (message) =>
    required.every((t) => message.includes(t)) &&
    !excluded.some((t) => message.includes(t)) &&
    (anyOf.length === 0 || anyOf.some((t) => message.includes(t)));
}

// ---------- JSON patterns ----------

type Step = { key: string } | { index: number };
type Expr =
  | { k: 'and' | 'or'; a: Expr; b: Expr }
  | { k: 'cmp'; sel: Step[]; op: '=' | '!=' | '<' | '<=' | '>' | '>='; value: string; quoted: boolean }
  | { k: 'is'; sel: Step[]; what: 'NULL' | 'TRUE' | 'FALSE' | 'NOT EXISTS' };

type Tok = { t: 'op' | 'word' | 'str' | 'sel'; v: string; pos: number };

function tokenize(src: string, pattern: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const err = (msg: string): never => {
    throw new LogsFilterError(`filter pattern ${JSON.stringify(pattern)}: ${msg}`);
  };
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
    } else if (src.startsWith('&&', i) || src.startsWith('||', i) || src.startsWith('!=', i) || src.startsWith('<=', i) || src.startsWith('>=', i)) {
      toks.push({ t: 'op', v: src.slice(i, i + 2), pos: i });
      i += 2;
    } else if ('()=<>'.includes(c)) {
      toks.push({ t: 'op', v: c, pos: i });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      let text = '';
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\\' && j + 1 < src.length) {
          text += src[j + 1];
          j += 2;
        } else {
          text += src[j++];
        }
      }
      if (j >= src.length) err(`unterminated string at position ${i}`);
      toks.push({ t: 'str', v: text, pos: i });
      i = j + 1;
    } else if (c === '$') {
      let j = i + 1;
      while (j < src.length && (/[^\s()=!<>&|"]/.test(src[j]) || (src[j] === '[' ))) j++;
      toks.push({ t: 'sel', v: src.slice(i, j), pos: i });
      i = j;
    } else {
      let j = i;
      while (j < src.length && /[^\s()=!<>&|"]/.test(src[j])) j++;
      if (j === i) err(`unexpected "${c}" at position ${i}`);
      toks.push({ t: 'word', v: src.slice(i, j), pos: i });
      i = j;
    }
  }
  return toks;
}

function parseSelector(sel: string, pattern: string): Step[] {
  const steps: Step[] = [];
  let i = 1;
  const err = (): never => {
    throw new LogsFilterError(`filter pattern ${JSON.stringify(pattern)}: invalid selector ${sel} (use $.field, $.list[0], $.a.b[1].c)`);
  };
  if (sel.length === 1) err();
  while (i < sel.length) {
    if (sel[i] === '.') {
      let j = i + 1;
      while (j < sel.length && sel[j] !== '.' && sel[j] !== '[') j++;
      const key = sel.slice(i + 1, j);
      if (!key) err();
      steps.push({ key });
      i = j;
    } else if (sel[i] === '[') {
      const end = sel.indexOf(']', i);
      if (end < 0) err();
      const idx = sel.slice(i + 1, end);
      if (!/^\d+$/.test(idx)) err();
      if (steps.length === 0) err();
      steps.push({ index: Number(idx) });
      i = end + 1;
    } else {
      err();
    }
  }
  return steps;
}

function parseJsonPattern(pattern: string): Expr {
  const trimmed = pattern.trim();
  if (!trimmed.endsWith('}')) throw new LogsFilterError(`filter pattern ${JSON.stringify(pattern)}: a JSON pattern must be enclosed in { }`);
  const toks = tokenize(trimmed.slice(1, -1), pattern);
  let p = 0;
  const err = (msg: string): never => {
    throw new LogsFilterError(`filter pattern ${JSON.stringify(pattern)}: ${msg}`);
  };
  const peek = () => toks[p];
  const isOp = (v: string) => peek()?.t === 'op' && peek().v === v;

  function parseOr(): Expr {
    let left = parseAnd();
    while (isOp('||')) {
      p++;
      left = { k: 'or', a: left, b: parseAnd() };
    }
    return left;
  }
  function parseAnd(): Expr {
    let left = parseUnary();
    while (isOp('&&')) {
      p++;
      left = { k: 'and', a: left, b: parseUnary() };
    }
    return left;
  }
  function parseUnary(): Expr {
    const tok = peek();
    if (!tok) return err('expected a condition, found the end of the pattern');
    if (tok.t === 'op' && tok.v === '(') {
      p++;
      const inner = parseOr();
      if (!isOp(')')) err(`expected ")" ${peek() ? `at "${peek().v}"` : 'at the end'}`);
      p++;
      return inner;
    }
    if (tok.t !== 'sel') return err(`expected a selector starting with $ at "${tok.v}"`);
    p++;
    const sel = parseSelector(tok.v, pattern);
    const next = peek();
    if (!next) return err(`expected an operator after ${tok.v}`);
    if (next.t === 'word' && (next.v === 'IS' || next.v === 'NOT')) {
      p++;
      const what = peek();
      if (!what || what.t !== 'word') return err(`expected NULL, TRUE, FALSE or EXISTS after ${next.v}`);
      p++;
      if (next.v === 'NOT' && what.v === 'EXISTS') return { k: 'is', sel, what: 'NOT EXISTS' };
      if (next.v === 'IS' && (what.v === 'NULL' || what.v === 'TRUE' || what.v === 'FALSE')) return { k: 'is', sel, what: what.v };
      return err(`unknown condition "${next.v} ${what.v}" (use IS NULL, IS TRUE, IS FALSE or NOT EXISTS)`);
    }
    if (next.t !== 'op' || !['=', '!=', '<', '<=', '>', '>='].includes(next.v)) return err(`expected =, !=, <, <=, >, >=, IS or NOT EXISTS after ${tok.v}`);
    p++;
    const value = peek();
    if (!value || (value.t !== 'word' && value.t !== 'str')) return err(`expected a value after ${tok.v} ${next.v}`);
    p++;
    const op = next.v as '=' | '!=' | '<' | '<=' | '>' | '>=';
    if (op !== '=' && op !== '!=' && (value.t === 'str' || !NUMBER_RE.test(value.v))) {
      err(`${tok.v} ${op} needs a number, found ${value.t === 'str' ? JSON.stringify(value.v) : value.v}`);
    }
    return { k: 'cmp', sel, op, value: value.v, quoted: value.t === 'str' };
  }

  const expr = parseOr();
  if (p < toks.length) err(`unexpected "${toks[p].v}"`);
  return expr;
}

const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

const MISSING = Symbol('missing');

function select(doc: unknown, sel: Step[]): unknown {
  let cur: unknown = doc;
  for (const step of sel) {
    if ('key' in step) {
      if (typeof cur !== 'object' || cur === null || Array.isArray(cur) || !(step.key in cur)) return MISSING;
      cur = (cur as Record<string, unknown>)[step.key];
    } else {
      if (!Array.isArray(cur) || step.index >= cur.length) return MISSING;
      cur = cur[step.index];
    }
  }
  return cur;
}

function stringMatches(value: string, pattern: string): boolean {
  if (pattern === '*') return true;
  const lead = pattern.startsWith('*');
  const trail = pattern.endsWith('*') && pattern.length > 1;
  const core = pattern.slice(lead ? 1 : 0, trail ? -1 : undefined);
  if (lead && trail) return value.includes(core);
  if (lead) return value.endsWith(core);
  if (trail) return value.startsWith(core);
  return value === core;
}

function evaluate(e: Expr, doc: unknown): boolean {
  switch (e.k) {
    case 'and':
      return evaluate(e.a, doc) && evaluate(e.b, doc);
    case 'or':
      return evaluate(e.a, doc) || evaluate(e.b, doc);
    case 'is': {
      const v = select(doc, e.sel);
      if (e.what === 'NOT EXISTS') return v === MISSING;
      if (e.what === 'NULL') return v === null;
      return v === (e.what === 'TRUE');
    }
    case 'cmp': {
      const v = select(doc, e.sel);
      if (v === MISSING || (typeof v === 'object' && v !== null)) return false; // not a value node
      if (e.op === '=' || e.op === '!=') {
        let eq: boolean;
        if (!e.quoted && NUMBER_RE.test(e.value) && typeof v === 'number') eq = v === Number(e.value);
        else eq = stringMatches(v === null ? 'null' : String(v), e.value);
        return e.op === '=' ? eq : !eq;
      }
      if (typeof v !== 'number') return false;
      const n = Number(e.value);
      switch (e.op) {
        case '<':
          return v < n;
        case '<=':
          return v <= n;
        case '>':
          return v > n;
        default:
          return v >= n;
      }
    }
  }
}

/** Compile a filter pattern; throws LogsFilterError naming the pattern and what is wrong. */
export function compileLogsFilter(pattern: string): LogsFilter {
  const trimmed = pattern.trim();
  if (trimmed === '' || trimmed === '""') return () => true;
  if (trimmed.startsWith('{')) {
    const expr = parseJsonPattern(trimmed);
    return (message) => {
      let doc: unknown;
      try {
        doc = JSON.parse(message);
      } catch {
        return false;
      }
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return false;
      return evaluate(expr, doc);
    };
  }
  if (trimmed.startsWith('[')) {
    throw new LogsFilterError(`filter pattern ${JSON.stringify(pattern)}: space-delimited patterns ([field, ...]) are not supported by the local matcher; use terms or a JSON pattern`);
  }
  return compileTerms(trimmed);
}

export function matchesLogsFilter(pattern: string, message: string): boolean {
  return compileLogsFilter(pattern)(message);
}

/** null when the pattern compiles, otherwise the reason. */
export function validateLogsFilter(pattern: string): string | null {
  try {
    compileLogsFilter(pattern);
    return null;
  } catch (err) {
    if (err instanceof LogsFilterError) return err.message;
    throw err;
  }
}
