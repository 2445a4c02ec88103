/**
 * `ripple import kyverno FILE...`: turn the supported subset of Kyverno ClusterPolicies into RipplePolicies (one
 * per base object). Writes YAML to stdout or --out; unsupported constructs are errors naming the policy, the rule
 * and the construct (file:line:column), and nothing is written.
 */
import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { importKyvernoFiles } from '../../functions/shared/policy/kyverno.ts';
import { RippleError } from '../../functions/shared/errors.ts';

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
        if (err instanceof RippleError) {
          for (const l of err.message.split('\n')) console.error(l);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
      if (opts.out) {
        writeFileSync(opts.out, result.yaml);
        console.error(`wrote ${result.policies.length} RipplePolic${result.policies.length === 1 ? 'y' : 'ies'} to ${opts.out}`);
      } else process.stdout.write(result.yaml);
    });
}
