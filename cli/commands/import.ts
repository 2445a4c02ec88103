/**
 * `ripple import kyverno FILE...`: turn the supported subset of Kyverno ClusterPolicies into RipplePolicies (one
 * per base object). Writes YAML to stdout or --out; unsupported constructs are errors naming the policy, the rule
 * and the construct (file:line:column), and nothing is written.
 */
import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { importKyvernoFiles } from '../import/kyverno.ts';
import { reportRippleError } from '../common.ts';

export function register(program: Command): void {
  const imp = program.command('import').description('import policies written for other tools');
  imp
    .command('kyverno')
    .description('convert Kyverno ClusterPolicies (validate deny, generate clone+synchronize, mutate-existing restarts) into RipplePolicies')
    .argument('<files...>', 'Kyverno ClusterPolicy YAML files (several documents each are fine)')
    .option('-o, --out <file>', 'write the RipplePolicy YAML here instead of stdout')
    .action((files: string[], opts: { out?: string }) => {
      let result;
      try {
        result = importKyvernoFiles(files);
      } catch (err) {
        reportRippleError(err);
        return;
      }
      if (opts.out) {
        writeFileSync(opts.out, result.yaml);
        console.error(`wrote ${result.policies.length} RipplePolic${result.policies.length === 1 ? 'y' : 'ies'} to ${opts.out}`);
      } else process.stdout.write(result.yaml);
    });
}
