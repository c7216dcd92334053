/**
 * @module cli
 * The `osprey` command line (commander). Each subcommand lives in its own module.
 */
import { Command } from 'commander';
import { createRequire } from 'node:module';
import { importCommand } from './import.js';
import { rulesCommand } from './rules.js';
import { verifyCommand } from './verify.js';
import { serveCommand } from './serve.js';

/** package.json's version (the same relative path from src/cli and dist/cli) */
export const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** The whole command tree (also walked by the tests to check every command's --help). */
export function buildProgram(): Command {
  const program = new Command();
  program.name('osprey').description('S3-compatible object store with back-to-origin mirroring and redirection').version(VERSION);
  program.addCommand(serveCommand());
  program.addCommand(rulesCommand());
  program.addCommand(importCommand());
  program.addCommand(verifyCommand());
  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  // On Node 20 the AWS SDK warns that its versions published after January 2027 will need Node 22.
  // Osprey pins its SDK and supports Node 20 and 24 (README), so the warning only confuses; this is
  // the SDK's documented switch, and an explicit setting in the environment still wins.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  await buildProgram().parseAsync(argv);
}
