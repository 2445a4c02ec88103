#!/usr/bin/env node
/**
 * The `ripple` command. Each file in cli/commands/ registers one command (or a group) on the program:
 * `export function register(program: Command): void`. Adding a command is adding a file.
 */
import { Command } from 'commander';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export async function buildProgram(): Promise<Command> {
  const program = new Command('ripple')
    .description('Protect, clone-and-sync and reload Kubernetes Secrets and ConfigMaps, serverlessly on AWS.')
    .showHelpAfterError()
    .version('0.1.0');
  const dir = join(here, 'commands');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).sort()) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { register?: (p: Command) => void };
    if (typeof mod.register !== 'function') throw new Error(`cli/commands/${file} does not export register(program)`);
    mod.register(program);
  }
  return program;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const program = await buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    console.error(`ripple: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = process.exitCode || 1;
  }
}
