/**
 * `ripple validate [FILES|DIRS...]`: check RipplePolicy files (default: policies/). Prints one line per problem,
 * `file:line:column: path: message`, and exits non-zero when there is any.
 */
import type { Command } from 'commander';
import { loadPolicies, policyFiles, PolicyError, policyOrigin } from '../../core/policy/load.ts';
import { RippleError } from '../../core/errors.ts';
import { configFileFor, loadConfig } from '../../core/config/load.ts';
import { describeReloader, reloaderMode } from '../../core/config/schema.ts';

export interface ValidateOutput {
  ok: boolean;
  lines: string[];
}

/** The command's logic without the process: what it would print and whether it succeeded. */
export function validate(paths: string[]): ValidateOutput {
  const targets = paths.length > 0 ? paths : ['policies'];
  try {
    const files = policyFiles(targets);
    if (files.length === 0) return { ok: false, lines: [`no *.yaml or *.yml policy files in ${targets.join(', ')}`] };
    const policies = loadPolicies(files);
    const lines = policies.map((p) => {
      const o = policyOrigin(p);
      const parts = (['protect', 'sync', 'reload'] as const).filter((k) => p.spec[k] !== undefined);
      const s = p.spec.source;
      return `${o ? `${o.file}: ` : ''}${p.metadata.name}: ${s.kind} ${s.namespace}/${s.name} (${parts.join(', ') || 'no protect, sync or reload'})`;
    });
    lines.push(`${policies.length} polic${policies.length === 1 ? 'y' : 'ies'} in ${files.length} file${files.length === 1 ? '' : 's'}: valid`);
    // ripple.config.yaml next to the policies (the cluster-wide modes), checked the same way
    const configFile = configFileFor(targets);
    if (configFile) {
      const mode = reloaderMode(loadConfig(targets, configFile));
      lines.push(`${configFile}: valid; Reloader mode ${mode ? `on (${describeReloader(mode)})` : 'off'}`);
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
    .action((paths: string[], opts: { quiet?: boolean }) => {
      const out = validate(paths);
      if (out.ok) {
        if (!opts.quiet) for (const l of out.lines) console.log(l);
      } else {
        for (const l of out.lines) console.error(l);
        process.exitCode = 1;
      }
    });
}
