/**
 * `ripple render <patterns|admission|rbac|audit-filter|schema|events|all>`: write what ripple derives from the
 * policies (EventBridge patterns, rollout settings, the audit-log filter, admission policies, RBAC, JSON Schemas)
 * into the repository. `--check` compares instead of writing (CI: nothing is hand-copied). For `patterns`/`all` it
 * prints, per handler, the pattern form rendered and its size (a pattern widened to fit `--pattern-limit` says so).
 * For a fleet stage (`--clusters hub,edge`, or RIPPLE_CLUSTERS, and a policy naming clusters) RBAC and admission are
 * also rendered per cluster (infra/k8s/clusters/<cluster>/), each with only what that cluster's part needs.
 */
import type { Command } from 'commander';
import { loadPolicies } from '../../core/policy/load.ts';
import { loadConfig } from '../../core/config/load.ts';
import { checkRendered, patternSummary, RENDER_TARGETS, renderFiles, writeRendered, type RenderTarget } from '../../render/index.ts';
import { parsePatternLimit } from '../../render/patterns.ts';
import { reportRippleError } from '../common.ts';
import { knownClusters } from './validate.ts';

export function register(program: Command): void {
  program
    .command('render')
    .description('render EventBridge patterns, admission policies, RBAC, the audit-log filter and JSON Schemas from the policies')
    .argument('<what>', `one of ${[...RENDER_TARGETS, 'all'].join(', ')}`)
    .option('-p, --policies <dir>', 'policy directory or file', 'policies')
    .option('-o, --out <dir>', 'root directory the files are written under (paths as in the repository)', '.')
    .option('--check', 'do not write; exit 1 listing files that differ from a fresh render')
    .option('--stdout', 'print the rendered files instead of writing them')
    .option('--clusters <names>', "the stage's clusters, comma separated (default: RIPPLE_CLUSTER_NAME and RIPPLE_CLUSTERS): with two or more and a policy placed across them, RBAC and admission are also rendered per cluster under infra/k8s/clusters/<cluster>/")
    .option('--pattern-limit <n>', 'the account\'s EventBridge "Event pattern size" quota in characters (default: $RIPPLE_PATTERN_LIMIT, else 2048); longer patterns are widened, or rendering fails')
    .action((what: string, opts: { policies: string; out: string; check?: boolean; stdout?: boolean; patternLimit?: string; clusters?: string }) => {
      if (what !== 'all' && !(RENDER_TARGETS as readonly string[]).includes(what)) {
        console.error(`ripple render: unknown target "${what}"; use one of ${[...RENDER_TARGETS, 'all'].join(', ')}`);
        process.exitCode = 2;
        return;
      }
      const target = what as RenderTarget | 'all';
      let files: Record<string, string>;
      let summary: string[] = [];
      const clusters = knownClusters(opts.clusters) ?? undefined;
      const perCluster = (clusters?.length ?? 0) >= 2;
      try {
        const fromEnv = opts.patternLimit === undefined;
        const patternLimit = parsePatternLimit(opts.patternLimit ?? process.env.RIPPLE_PATTERN_LIMIT, fromEnv ? 'RIPPLE_PATTERN_LIMIT' : '--pattern-limit');
        const policies = what === 'schema' || what === 'events' ? [] : loadPolicies(opts.policies);
        const config = what === 'schema' || what === 'events' ? undefined : loadConfig(opts.policies);
        files = renderFiles(target, policies, { patternLimit, config, clusters });
        if (what === 'patterns' || what === 'all') summary = patternSummary(policies, { patternLimit, config });
      } catch (err) {
        reportRippleError(err);
        return;
      }
      if (opts.stdout) {
        for (const [rel, content] of Object.entries(files)) process.stdout.write(`==> ${rel} <==\n${content}`);
        for (const l of summary) console.error(l);
        return;
      }
      for (const l of summary) console.log(l);
      if (opts.check) {
        const diff = checkRendered(target, files, opts.out, { perCluster });
        for (const d of diff) console.error(d);
        if (diff.length > 0) {
          console.error('run `npm run ripple -- render all` and commit the result');
          process.exitCode = 1;
        } else console.log(`${Object.keys(files).length} rendered files up to date`);
        return;
      }
      const res = writeRendered(target, files, opts.out, { perCluster });
      for (const f of res.written) console.log(`wrote ${f}`);
      for (const f of res.removed) console.log(`removed ${f} (stale)`);
      if (res.unchanged.length) console.log(`${res.unchanged.length} file(s) unchanged`);
    });
}
