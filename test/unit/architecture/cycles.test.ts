/**
 * No import cycles: the graph of relative value imports (import/export from, import(), require()) over every
 * source file has no strongly connected component larger than one file. Type-only imports (`import type`,
 * `export type`) are erased before run time and are left out.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../../..');
const SKIP = new Set(['node_modules', '.git', 'dist', 'coverage', '.serverless', '.esbuild', '.ripple']);

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (/\.(ts|cts|mts|js|cjs|mjs)$/.test(e.name)) out.push(p);
  }
  return out;
}

/** Relative value imports of one file (type-only ones left out). */
export function valueImports(text: string): string[] {
  const specs: string[] = [];
  const stmt = /^\s*(import|export)\s+(type\s+)?([^;]*?)\s*from\s*['"]([^'"]+)['"]/gms;
  for (const m of text.matchAll(stmt)) {
    if (m[2]) continue;
    const names = /\{([^}]*)\}/.exec(m[3]!)?.[1];
    const onlyTypes = names !== undefined && !/^[^{]*\w[^{]*\{/.test(m[3]!) && names.split(',').map((s) => s.trim()).filter(Boolean).every((s) => s.startsWith('type '));
    if (!onlyTypes) specs.push(m[4]!);
  }
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) specs.push(m[1]!);
  for (const m of text.matchAll(/\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]!);
  return specs.filter((s) => s.startsWith('.'));
}

function cycles(): string[][] {
  const files = sources(repo);
  const known = new Set(files);
  const edges = new Map(files.map((f) => [f, valueImports(readFileSync(f, 'utf8')).map((s) => resolve(dirname(f), s)).filter((t) => known.has(t) && t !== f)]));
  // Tarjan's strongly connected components
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v)!) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(relative(repo, w));
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const f of files) if (!idx.has(f)) visit(f);
  return out;
}

describe('import graph', () => {
  it('has no cycles', () => {
    expect(cycles()).toEqual([]);
  });

  it('the import reader sees value imports and leaves type-only ones out (so the check can fail)', () => {
    const text = [
      "import { a } from './a.ts';",
      "import type { B } from './b.ts';",
      "import { type C } from './c.ts';",
      "import { type D, e } from './d.ts';",
      "export * from './f.ts';",
      "export type { G } from './g.ts';",
      "const h = await import('./h.ts');",
      "import 'node:fs';",
    ].join('\n');
    expect(valueImports(text)).toEqual(['./a.ts', './d.ts', './f.ts', './h.ts']);
  });
});
