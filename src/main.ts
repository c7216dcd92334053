/**
 * @module main
 * bin entry: hands argv to the CLI, nothing else.
 */
import { runCli } from './cli/index.js';

runCli(process.argv).catch((err: unknown) => {
  process.stderr.write(`osprey: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
