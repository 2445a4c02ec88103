/**
 * `ripple validate [FILES|DIRS...]`: check RipplePolicy files (default: policies/). Prints one line per problem,
 * `file:line:column: path: message`, and exits non-zero when there is any.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadPolicies, policyFiles, PolicyError, policyOrigin, readYamlDocuments } from '../../core/policy/load.ts';
import { RippleError } from '../../core/errors.ts';
import { configFileFor, loadConfig } from '../../core/config/load.ts';
import { copyModes, describeCopyMode, describeReloader, reloaderMode } from '../../core/config/schema.ts';
import { unknownClusters } from '../../core/policy/fleet.ts';
import { selectorString } from '../../core/policy/select.ts';
import { formatProblem, type PolicyProblem } from '../../core/policy/problems.ts';
import type { RipplePolicy } from '../../core/policy/schema.ts';
import type { Env } from '../../core/env.ts';

/**
 * The stage's clusters when known: `--clusters a,b` or, as serverless.yml reads them, RIPPLE_CLUSTER_NAME (the
 * primary) and RIPPLE_CLUSTERS (a comma separated list, the handlers' JSON object, or the JSON list of clusters
 * with regions and accounts). Null: unknown, not checked.
 */
export function knownClusters(flag: string | undefined, env: Env = process.env): string[] | null {
  const names = (raw: string | undefined): string[] => {
    const t = (raw ?? '').trim();
    if (!t) return [];
    if (t.startsWith('{') || t.startsWith('[')) {
      try {
        const v = JSON.parse(t) as unknown;
        // the object keyed by name, or the list of names / {name, region?, accountId?, …} (infra/aws/clusters.cjs)
        if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : (x as { name?: unknown } | null)?.name)).filter((n): n is string => typeof n === 'string' && n.length > 0);
        return v && typeof v === 'object' ? Object.keys(v) : [];
      } catch {
        return [];
      }
    }
    return t.split(/[\s,]+/).filter(Boolean);
  };
  const list = flag !== undefined ? names(flag) : [...names(env.RIPPLE_CLUSTER_NAME), ...names(env.RIPPLE_CLUSTERS)];
  return list.length ? [...new Set(list)] : null;
}

/** Cluster names of the policies that are not clusters of the stage, at the file:line:column that names them. */
function clusterProblems(policies: RipplePolicy[], stage: string[]): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const docsOf = new Map<string, ReturnType<typeof readYamlDocuments>['docs']>();
  for (const p of policies) {
    const bad = unknownClusters(p, stage);
    if (bad.length === 0) continue;
    const o = policyOrigin(p);
    const file = o?.file ?? '(policy)';
    if (o && !docsOf.has(file)) docsOf.set(file, readYamlDocuments(readFileSync(file, 'utf8'), file).docs);
    const doc = docsOf.get(file)?.find((d) => (d.data as { metadata?: { name?: unknown } } | null)?.metadata?.name === p.metadata.name);
    for (const b of bad) {
      const pos = doc?.position(b.path) ?? { line: o?.line ?? 1, col: o?.col ?? 1 };
      const path = b.path.map((s, i) => (typeof s === 'number' ? `[${s}]` : `${i ? '.' : ''}${s}`)).join('');
      problems.push({ file, ...pos, path, message: `cluster "${b.cluster}" is not a cluster of the stage (${stage.join(', ')}); name one of them, or add it to the stage's clusters` });
    }
  }
  return problems;
}

export interface ValidateOutput {
  ok: boolean;
  lines: string[];
}

/** The command's logic without the process: what it would print and whether it succeeded. */
export function validate(paths: string[], clusters: string[] | null = null): ValidateOutput {
  const targets = paths.length > 0 ? paths : ['policies'];
  try {
    const files = policyFiles(targets);
    if (files.length === 0) return { ok: false, lines: [`no *.yaml or *.yml policy files in ${targets.join(', ')}`] };
    const policies = loadPolicies(files);
    if (clusters) {
      const problems = clusterProblems(policies, clusters);
      if (problems.length) return { ok: false, lines: problems.map(formatProblem) };
    }
    const lines = policies.map((p) => {
      const o = policyOrigin(p);
      const parts = (['protect', 'sync', 'reload'] as const).filter((k) => p.spec[k] !== undefined);
      const s = p.spec.source;
      const where = s.cluster || p.spec.sync?.clusters ? ` (cluster ${s.cluster ?? clusters?.[0] ?? 'primary'} -> ${(p.spec.sync?.clusters ?? [s.cluster ?? 'its own']).join(', ')})` : '';
      return `${o ? `${o.file}: ` : ''}${p.metadata.name}: ${s.selector ? `every ${s.kind} in ${s.namespace} matching ${selectorString(s.selector)}` : `${s.kind} ${s.namespace}/${s.name}`}${where} (${parts.join(', ') || 'no protect, sync or reload'})`;
    });
    lines.push(`${policies.length} polic${policies.length === 1 ? 'y' : 'ies'} in ${files.length} file${files.length === 1 ? '' : 's'}: valid`);
    // ripple.config.yaml next to the policies (the cluster-wide modes), checked the same way
    const configFile = configFileFor(targets);
    if (configFile) {
      const config = loadConfig(targets, configFile);
      const mode = reloaderMode(config);
      lines.push(`${configFile}: valid; Reloader mode ${mode ? `on (${describeReloader(mode)})` : 'off'}`);
      for (const { tool, cfg } of copyModes(config)) lines.push(`${configFile}: ${tool} annotations on (${describeCopyMode(cfg)})`);
    }
    return { ok: true, lines };
  } catch (err) {
    if (err instanceof PolicyError) return { ok: false, lines: err.message.split('\n') };
    if (err instanceof RippleError) return { ok: false, lines: [err.message] };
    throw err;
  }
}

export function register(program: Command): void {
  program
    .command('validate')
    .description('check RipplePolicy files (default: policies/); errors name file:line:column and the field')
    .argument('[paths...]', 'policy files or directories (a directory: its *.yaml/*.yml, not subdirectories)')
    .option('-q, --quiet', 'print only problems')
    .option('--clusters <names>', "the stage's clusters, comma separated (default: RIPPLE_CLUSTER_NAME and RIPPLE_CLUSTERS); cluster names in policies must be among them")
    .action((paths: string[], opts: { quiet?: boolean; clusters?: string }) => {
      const out = validate(paths, knownClusters(opts.clusters));
      if (out.ok) {
        if (!opts.quiet) for (const l of out.lines) console.log(l);
      } else {
        for (const l of out.lines) console.error(l);
        process.exitCode = 1;
      }
    });
}
