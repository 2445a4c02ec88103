/**
 * Size limits (issue 14): no source file over 400 lines outside `infra/local/cluster/` and generated files; no
 * function over 80 lines anywhere outside tests. Files and functions are measured with the TypeScript compiler API
 * (a function spans from its first token to its closing brace, leading comments not counted; an inner function
 * counts inside its outer one too). What is over the limit is split into well-named functions or modules
 * (docs/development.md, module map).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../../..');
/** Not source, or not ripple's own: build outputs and dependencies. `test/` is left out: the limits are for product code. */
const SKIP = new Set(['node_modules', '.git', 'dist', 'coverage', '.serverless', '.esbuild', '.ripple', 'test']);
const SOURCE = /\.(ts|cts|mts|js|cjs|mjs)$/;

export const MAX_FILE_LINES = 400;
export const MAX_FUNCTION_LINES = 80;
/** The embedded Kubernetes API server mirrors kube-apiserver's own large units; its files may be longer (its functions may not). */
export const FILE_LIMIT_EXEMPT_DIRS = ['infra/local/cluster/'];
/**
 * Generated source files (repository-relative paths), exempt from both limits. None today: what `ripple render`
 * generates is JSON and YAML (events/patterns/, infra/k8s/, schema/), which is not source. A generated .ts/.js
 * file must be listed here by path, explicitly.
 */
export const GENERATED: readonly string[] = [];

export interface SourceFile {
  /** Repository-relative, with `/`. */
  path: string;
  text: string;
}

/** Lines as an editor numbers them (a final newline does not start another line). */
export function lineCount(text: string): number {
  if (text === '') return 0;
  const n = text.split('\n').length;
  return text.endsWith('\n') ? n - 1 : n;
}

/** Every function-like node of a file longer than `max` lines: name (or `(anonymous)`), first line, length. */
export function longFunctions(file: SourceFile, max = MAX_FUNCTION_LINES): { name: string; line: number; lines: number }[] {
  const kind = /\.(js|cjs|mjs)$/.test(file.path) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true, kind);
  const out: { name: string; line: number; lines: number }[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body) {
      const first = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
      const lines = last - first + 1;
      if (lines > max) out.push({ name: functionName(n), line: first + 1, lines });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

function functionName(n: ts.Node): string {
  const own = (n as { name?: ts.Node }).name;
  if (own) return own.getText();
  if (ts.isConstructorDeclaration(n)) return 'constructor';
  const p = n.parent;
  if (p && (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p))) return p.name.getText();
  return '(anonymous)';
}

/** What breaks the limits, one message per file or function, naming it, its size, the limit and what to do. */
export function sizeViolations(files: readonly SourceFile[], generated: readonly string[] = GENERATED): string[] {
  const out: string[] = [];
  for (const f of files) {
    if (generated.includes(f.path)) continue;
    const lines = lineCount(f.text);
    if (lines > MAX_FILE_LINES && !FILE_LIMIT_EXEMPT_DIRS.some((d) => f.path.startsWith(d))) {
      out.push(`${f.path}: ${lines} lines, over the ${MAX_FILE_LINES}-line limit; split it into modules by concern (and update docs/development.md's module map)`);
    }
    for (const fn of longFunctions(f)) {
      out.push(`${f.path}:${fn.line} ${fn.name}: ${fn.lines} lines, over the ${MAX_FUNCTION_LINES}-line limit; move its steps into well-named functions`);
    }
  }
  return out;
}

function sourceFiles(dir = repo, out: SourceFile[] = []): SourceFile[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) sourceFiles(p, out);
    else if (SOURCE.test(e.name)) out.push({ path: relative(repo, p).split('\\').join('/'), text: readFileSync(p, 'utf8') });
  }
  return out;
}

/** A file of `lines` lines: one function `name` of `fnLines` lines (header to closing brace), then filler. */
function fixture(path: string, lines: number, fnLines = 3, name = 'f'): SourceFile {
  const fn = [`export function ${name}(): number {`, ...Array.from({ length: fnLines - 3 }, (_, i) => `  const v${i} = ${i};`), '  return 0;', '}'];
  const rest = Array.from({ length: lines - fn.length }, (_, i) => `export const c${i} = ${i};`);
  return { path, text: [...fn, ...rest].join('\n') + '\n' };
}

describe('size limits', () => {
  const files = sourceFiles();

  it('the walk sees the product code (so a pass means something)', () => {
    const paths = files.map((f) => f.path);
    for (const p of ['core/constants.ts', 'functions/clone/apply.ts', 'forwarder/index.ts', 'infra/local/cluster/server.ts', 'bench/fanout.ts', 'eslint.config.js']) expect(paths).toContain(p);
    expect(paths.some((p) => p.startsWith('test/'))).toBe(false);
  });

  it(`no source file over ${MAX_FILE_LINES} lines (outside ${FILE_LIMIT_EXEMPT_DIRS.join(', ')} and generated files), no function over ${MAX_FUNCTION_LINES} lines`, () => {
    expect(sizeViolations(files)).toEqual([]);
  });

  it('every allow-listed generated file exists (the list does not outlive its files)', () => {
    const paths = new Set(files.map((f) => f.path));
    for (const g of GENERATED) expect(paths.has(g), `${g} is listed in GENERATED but does not exist`).toBe(true);
  });
});

describe('size limits: the check fails on too-long fixtures', () => {
  it('the fixtures are the sizes they claim', () => {
    const f = fixture('functions/fixture.ts', 401, 81, 'tooLong');
    expect(lineCount(f.text)).toBe(401);
    expect(longFunctions(f, 0).find((x) => x.name === 'tooLong')?.lines).toBe(81);
  });

  it('a 401-line file fails; 400 lines pass', () => {
    expect(sizeViolations([fixture('functions/fixture.ts', 401)])).toEqual([
      'functions/fixture.ts: 401 lines, over the 400-line limit; split it into modules by concern (and update docs/development.md\'s module map)',
    ]);
    expect(sizeViolations([fixture('functions/fixture.ts', 400)])).toEqual([]);
  });

  it('an 81-line function fails, wherever it is (infra/local/cluster/ included); 80 lines pass', () => {
    expect(sizeViolations([fixture('cli/fixture.ts', 100, 81, 'tooLong')])).toEqual(['cli/fixture.ts:1 tooLong: 81 lines, over the 80-line limit; move its steps into well-named functions']);
    expect(sizeViolations([fixture('infra/local/cluster/fixture.ts', 100, 81, 'tooLong')])).toHaveLength(1);
    expect(sizeViolations([fixture('cli/fixture.ts', 100, 80)])).toEqual([]);
  });

  it('every function shape is measured: methods, constructors, arrows, function expressions, accessors, in .js too', () => {
    const body = Array.from({ length: 85 }, (_, i) => `    x += ${i};`).join('\n');
    const text = [
      'class A {',
      '  constructor() {', '    let x = 0;', body, '  }',
      '  method() {', '    let x = 0;', body, '  }',
      '  get value() {', '    let x = 0;', body, '    return x;', '  }',
      '}',
      'export const arrow = () => {', '  let x = 0;', body, '};',
      'export const table = { entry: function () {', '  let x = 0;', body, '} };',
      'export default A;',
    ].join('\n');
    const names = (path: string) => longFunctions({ path, text }).map((f) => f.name);
    expect(names('cli/fixture.ts')).toEqual(['constructor', 'method', 'value', 'arrow', 'entry']);
    expect(names('infra/aws/fixture.cjs')).toEqual(['constructor', 'method', 'value', 'arrow', 'entry']);
  });

  it('files under infra/local/cluster/ and listed generated files may be longer', () => {
    expect(sizeViolations([fixture('infra/local/cluster/fixture.ts', 900)])).toEqual([]);
    expect(sizeViolations([fixture('render/generated.ts', 900)], ['render/generated.ts'])).toEqual([]);
    expect(sizeViolations([fixture('render/generated.ts', 900)])).toHaveLength(1);
  });
});
