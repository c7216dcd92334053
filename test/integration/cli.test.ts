/**
 * `osprey serve` as a user runs it: printed endpoint and credentials, generated key pair kept in
 * the data dir (0600), config file + env + flags precedence, and one clear line + exit 2 on bad config.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { copyFile, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ACCESS_KEY, fsOnly, ROOT, SECRET_KEY, spawnOsprey, startOsprey, tmpDir } from '../helpers/osprey.ts';
import { rawSigned } from '../helpers/raw.ts';
import { run } from '../helpers/exec.ts';

function runServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runOsprey(['serve', ...args], env);
}

/** `osprey <args>` as a child process (stdout and stderr are pipes, not a terminal). */
function runOsprey(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
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

describe('osprey serve', () => {
  it(
    'generates a key pair on first start, keeps it (0600) and prints it',
    { skip: fsOnly('the key pair file is in the data dir; on the S3 driver it is kept in the store') },
    async () => {
      const dataDir = await tmpDir('osprey-cli-');
      const env = { OSPREY_ACCESS_KEY_ID: '', OSPREY_SECRET_ACCESS_KEY: '' };
      const first = await spawnOsprey(['--address', '127.0.0.1:0', '--data', dataDir], env);
      const m = /access key id:\s+(\S+)\n\s+secret access key:\s+(\S+)/.exec(first.stdout);
      assert.ok(m, first.stdout);
      await first.stop();
      const saved = JSON.parse(await readFile(path.join(dataDir, 'credentials.json'), 'utf8')) as {
        accessKeyId: string;
        secretAccessKey: string;
      };
      assert.equal(saved.accessKeyId, m[1]);
      assert.equal(saved.secretAccessKey, m[2]);
      assert.equal((await stat(path.join(dataDir, 'credentials.json'))).mode & 0o777, 0o600);
      const second = await spawnOsprey(['--address', '127.0.0.1:0', '--data', dataDir], env);
      assert.match(second.stdout, new RegExp(`access key id:\\s+${m[1]}`));
      assert.equal(await second.stop(), 0);
    },
  );

  it('flags beat env, env beats the config file', async () => {
    const dataDir = await tmpDir('osprey-cli-');
    const file = path.join(dataDir, 'osprey.toml');
    await writeFile(
      file,
      `address = "127.0.0.1:1"\nregion = "from-file"\naccess-key-id = "FILEKEY"\nsecret-access-key = "file-secret-123"\n`,
    );
    const srv = await spawnOsprey(['--config', file, '--address', '127.0.0.1:0', '--data', dataDir], {
      OSPREY_ACCESS_KEY_ID: 'ENVKEY',
      OSPREY_SECRET_ACCESS_KEY: 'env-secret-123',
    });
    assert.match(srv.stdout, /access key id:\s+ENVKEY/);
    assert.notEqual(srv.port, 1);
    await srv.stop();
  });

  it('invalid configuration: one line naming the setting, exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--address', 'nonsense'], /invalid setting 'address'/],
      [['--address', '127.0.0.1:99999'], /invalid setting 'address'/],
      [['--max-routing-rules', 'many'], /invalid setting 'maxRoutingRules'/],
      [['--log-format', 'xml'], /invalid setting 'logFormat'/],
      [['--config', '/nonexistent/osprey.toml'], /invalid setting 'config'/],
    ];
    for (const [args, re] of cases) {
      const r = await runServe(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    const dir = await tmpDir('osprey-cli-');
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ colour: 'blue' }));
    const r = await runServe(['--config', bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid setting 'colour'/);
  });
});

/** Wait (bounded) until the server's stdout holds a line matching `re`. */
async function untilLogged(server: { stdout: string }, re: RegExp, ms = 10_000): Promise<string> {
  const until = Date.now() + ms;
  for (;;) {
    const line = server.stdout.split('\n').find((l) => re.test(l));
    if (line !== undefined) return line;
    if (Date.now() > until) throw new Error(`no log line matching ${re} in:\n${server.stdout}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('what a new user meets first (issue 18)', () => {
  it('a loopback MirrorURL is refused naming --origin-allow and OSPREY_ORIGIN_ALLOW, the message without XML entities', async () => {
    const server = await startOsprey({ originAllow: [] });
    const dir = await tmpDir('osprey-cli-');
    try {
      assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/site' })).status, 200);
      const file = path.join(dir, 'mirror.xml');
      await writeFile(
        file,
        `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
        <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
        <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>http://127.0.0.1:8080/</MirrorURL></Redirect>
        </RoutingRule></RoutingRules></WebsiteConfiguration>`,
      );
      const r = await runOsprey(['rules', 'put', '--endpoint', server.url, '--bucket', 'site', '--file', file], {
        OSPREY_ACCESS_KEY_ID: ACCESS_KEY,
        OSPREY_SECRET_ACCESS_KEY: SECRET_KEY,
      });
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /InvalidArgument: RoutingRule 1: Redirect\/MirrorURL 'http:\/\/127\.0\.0\.1:8080\/' is refused: it is a loopback address/,
      );
      assert.match(r.stderr, /--origin-allow/);
      assert.match(r.stderr, /OSPREY_ORIGIN_ALLOW/);
      assert.doesNotMatch(r.stderr, /&(?:apos|quot|amp|lt|gt|#\d+);/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('npm start compiles only when a source changed, says when it starts from the existing build, and passes flags to serve', async () => {
    // a miniature checkout: scripts/start.sh as is, a one-file server that prints its arguments
    const dir = await tmpDir('osprey-start-');
    try {
      await mkdir(path.join(dir, 'scripts'));
      await mkdir(path.join(dir, 'src'));
      await mkdir(path.join(dir, 'dist/web/console'), { recursive: true });
      await copyFile(path.join(ROOT, 'scripts/start.sh'), path.join(dir, 'scripts/start.sh'));
      await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
      await writeFile(path.join(dir, 'package.json'), '{"type": "module"}\n');
      await writeFile(path.join(dir, 'tsconfig.json'), '{}\n');
      await writeFile(
        path.join(dir, 'tsconfig.build.json'),
        JSON.stringify({
          compilerOptions: { target: 'ES2022', module: 'NodeNext', outDir: 'dist', rootDir: 'src', types: ['node'], skipLibCheck: true },
          include: ['src'],
        }),
      );
      const server = (v: string) => `console.log('Osprey is listening on http://127.0.0.1:1 ${v} ' + process.argv.slice(2).join(' '));\n`;
      await writeFile(path.join(dir, 'src/main.ts'), server('v1'));
      await mkdir(path.join(dir, 'web/console'), { recursive: true });
      await writeFile(path.join(dir, 'dist/web/console/index.html'), '');
      await writeFile(path.join(dir, 'dist/.console-built'), '');
      const start = () =>
        run('bash', [path.join(dir, 'scripts/start.sh'), '--origin-allow', '127.0.0.0/8'], { cwd: dir, timeoutMs: 120_000 });

      const first = await start();
      assert.match(first.stderr, /compiling the server/);
      assert.match(first.stdout, /listening on http:\/\/127\.0\.0\.1:1 v1 serve --origin-allow 127\.0\.0\.0\/8/);
      const built = (await stat(path.join(dir, 'dist/main.js'))).mtimeMs;

      const again = await start();
      assert.match(again.stderr, /starting from the existing build in dist\/ \(no source changed/);
      assert.doesNotMatch(again.stderr, /compiling/);
      assert.match(again.stdout, /v1 serve --origin-allow 127\.0\.0\.0\/8/);
      assert.equal((await stat(path.join(dir, 'dist/main.js'))).mtimeMs, built);

      await writeFile(path.join(dir, 'src/main.ts'), server('v2'));
      const changed = await start();
      assert.match(changed.stderr, /compiling the server/);
      assert.match(changed.stdout, /v2 serve --origin-allow/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('Node 20: no NodeVersionSupportWarning from the AWS SDK, even without its switch in the environment', async () => {
    const r = await runServe(['--address', '127.0.0.1:0', '--storage', 's3://osprey-none', '--storage-endpoint', 'http://127.0.0.1:1'], {
      OSPREY_STORAGE_ACCESS_KEY_ID: 'NOSUCHKEY',
      OSPREY_STORAGE_SECRET_ACCESS_KEY: 'no-such-secret',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined,
    });
    assert.equal(r.code, 2, r.stderr);
    assert.doesNotMatch(r.stderr, /Warning/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });

  it('no MaxListenersExceededWarning: bodies refused before they were read, many on one kept-alive connection', async () => {
    const server = await startOsprey();
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const body = Buffer.alloc(64 * 1024, 1);
      const sockets = new Set<unknown>();
      for (let i = 0; i < 15; i++) {
        // anonymous PUT: refused (403) before the body is read, which the server then drains
        const status = await new Promise<number>((resolve, reject) => {
          const req = http.request(
            `${server.url}/no-such-bucket/k${i}`,
            { method: 'PUT', agent, headers: { 'content-length': body.length } },
            (res) => {
              sockets.add(res.socket);
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          );
          req.on('error', reject);
          req.end(body);
        });
        assert.ok(status >= 400, String(status));
      }
      assert.equal(sockets.size, 1, 'one connection for every request');
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        warnings.map((w) => `${w.name}: ${w.message}`),
        [],
      );
    } finally {
      process.off('warning', onWarning);
      agent.destroy();
      await server.close();
    }
  });

  it('--log-format pretty writes no colour codes when stdout is not a terminal', async () => {
    const dataDir = await tmpDir('osprey-cli-');
    try {
      const srv = await spawnOsprey(['--address', '127.0.0.1:0', '--data', dataDir, '--log-format', 'pretty', '--log-level', 'info']);
      await fetch(`${srv.url}/-/health/live`);
      const line = await untilLogged(srv, /request/);
      await srv.stop();
      assert.match(line, /INFO/);

      assert.doesNotMatch(srv.stdout, /\x1b\[/, JSON.stringify(srv.stdout.slice(0, 400)));
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('the request log counts the body of a PutBucketWebsite (bytesIn)', async () => {
    const dataDir = await tmpDir('osprey-cli-');
    try {
      const srv = await spawnOsprey(['--address', '127.0.0.1:0', '--data', dataDir, '--log-format', 'json', '--log-level', 'info']);
      try {
        assert.equal((await rawSigned(srv.url, { method: 'PUT', path: '/site' })).status, 200);
        const body = '<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument></WebsiteConfiguration>';
        const put = await rawSigned(srv.url, { method: 'PUT', path: '/site', query: { website: '' }, body });
        assert.equal(put.status, 200, put.body);
        const entry = JSON.parse(await untilLogged(srv, /"op":"PutBucketWebsite"/)) as { bytesIn?: number; status?: number };
        assert.equal(entry.status, 200);
        assert.equal(entry.bytesIn, Buffer.byteLength(body));
      } finally {
        await srv.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
