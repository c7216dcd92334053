/**
 * The operator's surface of the command line and the server: `--version`, `--help` on every
 * command, health endpoints, and `--log-format pretty`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/index.ts';
import { ROOT, spawnOsprey, startOsprey, tmpDir } from '../helpers/osprey.ts';
import { until } from '../helpers/wait.ts';

function osprey(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** the names listed under "Commands:" in a commander help text */
function commandsIn(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1] ?? '';
  return [...section.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1] ?? '').filter((c) => c !== 'help');
}

describe('operator CLI and health', () => {
  it('--version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await osprey(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), pkg.version);
  });

  it('osprey --help lists the commands (a real process)', async () => {
    const top = await osprey(['--help']);
    assert.equal(top.code, 0);
    const commands = commandsIn(top.stdout);
    assert.ok(commands.includes('serve') && commands.includes('rules'), top.stdout);
  });

  it('every command and subcommand answers --help with its usage', async () => {
    // walked in-process (commander's exit turned into an exception) rather than one process per command
    const walk = async (path: string[]): Promise<number> => {
      const program = buildProgram();
      let out = '';
      const quiet = (c: Command) => {
        c.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
        c.commands.forEach(quiet);
      };
      quiet(program);
      await assert.rejects(
        program.parseAsync(['node', 'osprey', ...path, '--help']),
        (e: { code?: string; exitCode?: number }) => e.code === 'commander.helpDisplayed' && e.exitCode === 0,
      );
      assert.match(out, new RegExp(`^Usage: osprey${path.map((p) => ` ${p}`).join('')}`, 'm'), out);
      let n = 1;
      for (const sub of commandsIn(out)) n += await walk([...path, sub]);
      return n;
    };
    const seen = await walk([]);
    assert.ok(seen >= 8, `${seen} commands have help`);
  });

  it('/-/health/live and /-/health/ready answer without credentials', async () => {
    const server = await startOsprey();
    try {
      const live = await fetch(`${server.url}/-/health/live`);
      assert.equal(live.status, 200);
      assert.deepEqual(await live.json(), { status: 'ok' });
      const ready = await fetch(`${server.url}/-/health/ready`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { status: 'ready' });
    } finally {
      await server.close();
    }
  });

  it('--log-format pretty writes human-readable request lines, json writes one object per line', async () => {
    const dataDir = await tmpDir();
    try {
      const pretty = await spawnOsprey(['--address', '127.0.0.1:0', '--data', dataDir, '--log-format', 'pretty', '--log-level', 'info']);
      await fetch(`${pretty.url}/-/health/live`);
      // the request's log line is out (pino-pretty writes it from a worker), then stop
      await until(() => pretty.stdout.split('\n').some((l) => l.includes('request')), { what: 'the request log line' });
      await pretty.stop();
      const line = pretty.stdout.split('\n').find((l) => l.includes('request'));
      assert.ok(line, pretty.stdout);
      assert.ok(!line.trimStart().startsWith('{'), `not JSON: ${line}`);
      assert.match(line, /INFO/);

      const json = await spawnOsprey(['--address', '127.0.0.1:0', '--data', dataDir, '--log-format', 'json', '--log-level', 'info']);
      await fetch(`${json.url}/-/health/live`);
      await new Promise((r) => setTimeout(r, 200));
      await json.stop();
      const entry = json.stdout.split('\n').find((l) => l.includes('"msg":"request"'));
      assert.ok(entry, json.stdout);
      const parsed = JSON.parse(entry) as { op?: string; status?: number };
      assert.equal(parsed.status, 200);
      assert.equal(parsed.op, 'Admin');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
