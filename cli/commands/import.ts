/**
 * `ripple import kyverno FILE...`: turn the supported subset of Kyverno ClusterPolicies and Policies into
 * RipplePolicies (one per base object). Writes YAML to stdout or --out; unsupported constructs are errors naming
 * the policy, the rule and the construct (file:line:column), and nothing is written. What is noted and skipped (a
 * base Secret shipped in the same file, spec fields with no ripple meaning) is printed as `warning: …` on stderr.
 */
import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { importKyvernoFiles, KyvernoImportError } from '../import/kyverno.ts';
import { reportRippleError } from '../common.ts';

export function register(program: Command): void {
  const imp = program.command('import').description('import policies written for other tools');
  imp
    .command('kyverno')
    .description('convert Kyverno ClusterPolicies/Policies (validate deny, generate clone+synchronize, mutate-existing restarts) into RipplePolicies (docs/migrating-from-kyverno.md)')
    .argument('<files...>', 'Kyverno policy YAML files (several documents each are fine; other objects in them are skipped with a warning)')
    .option('-o, --out <file>', 'write the RipplePolicy YAML here instead of stdout')
    .action((files: string[], opts: { out?: string }) => {
      let result;
      try {
        result = importKyvernoFiles(files);
      } catch (err) {
        if (err instanceof KyvernoImportError) for (const w of err.warnings) console.error(`warning: ${w}`);
        reportRippleError(err);
        return;
      }
      for (const w of result.warnings) console.error(`warning: ${w}`);
      if (opts.out) {
        writeFileSync(opts.out, result.yaml);
        console.error(`wrote ${result.policies.length} RipplePolic${result.policies.length === 1 ? 'y' : 'ies'} to ${opts.out}`);
      } else process.stdout.write(result.yaml);
    });
}
