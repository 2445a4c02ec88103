/**
 * `ripple explain --kubeconfig K [--policies DIR]`: dry run of clone and sync against a live cluster. Which
 * namespaces would get copies, which copies differ (and in which part: data, type, immutable, labels,
 * annotations — never values), which same-named objects are left alone, and which workloads would restart.
 * Reads only; writes nothing. `--clusters hub,edge`: a fleet, each cluster a context of that name; per policy its
 * placement (source cluster, target clusters), then the rows per target cluster.
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { Command } from 'commander';
import { explainClone, explainFleet, formatExplain } from '../explain/explain.ts';
import { kubeFromKubeConfig } from '../../kube/kubeconfig.ts';
import { loadPolicies } from '../../core/policy/load.ts';
import { reportRippleError } from '../common.ts';
import { explainReloader, formatReloaderExplain } from '../explain/reloader.ts';
import { explainCopies, formatCopiesExplain } from '../explain/copies.ts';
import { loadConfig } from '../../core/config/load.ts';
import { ValidationError } from '../../core/errors.ts';
import type { ChangeEvent } from '../../functions/rollout/reloader.ts';

export function register(program: Command): void {
  program
    .command('explain')
    .description('dry run: which namespaces would get copies, which copies differ (and where), which workloads would restart; nothing is written')
    .requiredOption('--kubeconfig <file>', 'kubeconfig of the cluster to explain against')
    .option('--context <name>', 'kubeconfig context (default: the current one)')
    .option('--clusters <names>', "a fleet: the stage's clusters, primary first, each a kubeconfig context of that name (as in .ripple/kubeconfig): per policy where its source is read and which clusters get copies, then the rows per target cluster")
    .option('--policies <dir>', 'RipplePolicy directory or file', 'policies')
    .option('--changes-only', 'hide namespaces where nothing would happen')
    .option('-o, --output <format>', 'table or json', 'table')
    .option('--reloader <Kind/namespace/name>', 'the Reloader mode (ripple.config.yaml): which workloads a change of this Secret/ConfigMap would restart, and which annotation decided')
    .option('--event <event>', 'with --reloader: updated, created or deleted', 'updated')
    .option('--copies <Kind/namespace/name>', "the copy modes (ripple.config.yaml reflector/replicator): what this Secret/ConfigMap's Reflector or Replicator annotations (as source, pull target or copy) would copy, delete or refuse")
    .action(async (opts: { kubeconfig: string; context?: string; clusters?: string; policies: string; changesOnly?: boolean; output: string; reloader?: string; event: string; copies?: string }) => {
      if (opts.output !== 'table' && opts.output !== 'json') {
        console.error(`--output: must be "table" or "json", got "${opts.output}"`);
        process.exitCode = 2;
        return;
      }
      try {
        const policies = loadPolicies(opts.policies);
        const kc = new KubeConfig();
        kc.loadFromFile(opts.kubeconfig);
        if (opts.context) kc.setCurrentContext(opts.context);
        if (opts.reloader !== undefined) {
          if (!['updated', 'created', 'deleted'].includes(opts.event)) throw new ValidationError(`--event: must be updated, created or deleted, got "${opts.event}"`);
          const r = await explainReloader(kubeFromKubeConfig(kc), loadConfig(opts.policies), opts.reloader, opts.event as ChangeEvent);
          console.log(opts.output === 'json' ? JSON.stringify(r, null, 2) : formatReloaderExplain(r));
          return;
        }
        if (opts.copies !== undefined) {
          const r = await explainCopies(kubeFromKubeConfig(kc), loadConfig(opts.policies), opts.copies);
          console.log(opts.output === 'json' ? JSON.stringify(r, null, 2) : formatCopiesExplain(r));
          return;
        }
        const stage = (opts.clusters ?? '').split(/[\s,]+/).filter(Boolean);
        const result = stage.length
          ? await explainFleet((c) => {
              if (!kc.getContexts().some((x) => x.name === c)) return null;
              const one = new KubeConfig();
              one.loadFromFile(opts.kubeconfig);
              one.setCurrentContext(c);
              return kubeFromKubeConfig(one, c);
            }, stage, policies)
          : await explainClone(kubeFromKubeConfig(kc), policies);
        if (opts.output === 'json') console.log(JSON.stringify(result, null, 2));
        else console.log(formatExplain(result, { changesOnly: opts.changesOnly }));
      } catch (err) {
        reportRippleError(err);
      }
    });
}
