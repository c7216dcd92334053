/**
 * The whole "Migrating a live site" procedure as a drill, with a real Osprey, a real origin on
 * 127.0.0.1 and the CLI: bulk-copy the cold data (import), switch traffic to Osprey with a Mirror
 * rule (rules put) while the origin keeps creating files and clients keep reading, scan the origin
 * again and import the rest (still under traffic), prove parity (verify --deep), then remove the
 * rule and retire the origin. No client request may fail at any point.
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { contentFor, keysIn, md5, runCli, startOrigin } from '../helpers/migrate.ts';
import type { Origin } from '../helpers/migrate.ts';
import { fsOnly, s3, startOsprey, tmpDir } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';

const INITIAL = 300;

function urlOf(server: TestServer, key: string): string {
  return `${server.url}/www/${key.split('/').map(encodeURIComponent).join('/')}`;
}

describe(
  'migration drill',
  {
    skip: fsOnly(
      'CI time: the S3 pass keeps to the end-to-end behaviour; the drill (imports, live mirror traffic, verify) through a one-machine Ceph takes minutes, and import onto the S3 driver is covered by import-s3, import-errors, import-rule, verify and key-corpus',
    ),
  },
  () => {
    let server: TestServer;
    let origin: Origin;
    let client: S3Client;
    let dir: string;

    before(async () => {
      origin = await startOrigin();
      for (let i = 0; i < INITIAL; i++) {
        const key = i % 50 === 0 ? `media/${i}.bin` : `static/${i % 7}/${i}.css`;
        const size = i % 50 === 0 ? 2 * 1024 * 1024 + i : 200 + ((i * 53) % 5000);
        origin.files.set(key, {
          body: contentFor(key, size),
          headers: {
            'content-type': key.endsWith('.css') ? 'text/css' : 'application/octet-stream',
            'cache-control': 'public, max-age=600',
          },
        });
      }
      server = await startOsprey();
      client = s3(server);
      await client.send(new CreateBucketCommand({ Bucket: 'www', ACL: 'public-read' }));
      dir = await tmpDir('osprey-drill-');
    });
    after(async () => {
      client.destroy();
      await server.close();
      await origin.close();
    });

    it('import the cold data, mirror under live traffic while the origin grows, import the rest, verify parity, retire the origin', async (t) => {
      const cli = (args: string[]) => runCli([...args, '--endpoint', server.url, '--bucket', 'www'], { cwd: dir });

      // 1. the cold data: what existed when the migration was planned, bulk-copied first
      const cold = [...origin.files.keys()].filter((_, i) => i % 3 === 0);
      // the long tail: files no client asks for during the drill, so only the second import brings
      // them (with readers picking at random among all files, a fast machine had read them all)
      const tail = new Set([...origin.files.keys()].filter((_, i) => i % 3 === 1));
      await writeFile(path.join(dir, 'cold.txt'), `${cold.join('\n')}\n`);
      const bulk = await cli(['import', '--origin', origin.url, '--keys', path.join(dir, 'cold.txt'), '--log-interval', '0']);
      assert.equal(bulk.code, 0, bulk.stdout + bulk.stderr);
      assert.match(bulk.stdout, new RegExp(`${cold.length} copied`));

      // 2. the Mirror rule, then traffic is switched to Osprey
      const rule = `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
      <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
      <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${origin.url}</MirrorURL></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`;
      await writeFile(path.join(dir, 'mirror.xml'), rule);
      const put = await cli(['rules', 'put', '--file', path.join(dir, 'mirror.xml')]);
      assert.equal(put.code, 0, put.stdout + put.stderr);

      // the origin keeps publishing while clients read through Osprey
      let created = 0;
      const writer = setInterval(() => {
        const key = `new/${created++}.txt`;
        origin.files.set(key, { body: contentFor(key, 100 + created * 7), headers: { 'content-type': 'text/plain' } });
      }, 20);
      let reading = true;
      // a failed assertion below must not leave the readers and the writer running
      t.after(() => {
        reading = false;
        clearInterval(writer);
      });
      let reads = 0;
      const failures: string[] = [];
      const reader = async () => {
        while (reading) {
          const all = [...origin.files.keys()].filter((k) => !tail.has(k));
          const key = all[Math.floor(Math.random() * all.length)] ?? '';
          const expected = origin.files.get(key)?.body ?? Buffer.alloc(0);
          try {
            const r = await fetch(urlOf(server, key));
            const body = Buffer.from(await r.arrayBuffer());
            if (r.status !== 200 || md5(body) !== md5(expected) || !r.headers.get('x-oss-tag')?.startsWith('MIRROR '))
              failures.push(`${key}: ${r.status} ${body.length}/${expected.length}`);
          } catch (err) {
            failures.push(`${key}: ${(err as Error).message}`);
          }
          reads++;
        }
      };
      const readers = Array.from({ length: 6 }, reader);
      // at least 3 s of traffic, and until the origin has published 60 new files (timers run late on a loaded machine)
      const drillStart = Date.now();
      while ((Date.now() - drillStart < 3000 || created < 60) && Date.now() - drillStart < 60_000)
        await new Promise((r) => setTimeout(r, 100));

      // 3. the origin is scanned again: everything it has now is imported, traffic still flowing
      clearInterval(writer);
      const everything = [...origin.files.keys()];
      await writeFile(path.join(dir, 'all.txt'), `${everything.join('\n')}\n`);
      const rest = await cli([
        'import',
        '--origin',
        origin.url,
        '--keys',
        path.join(dir, 'all.txt'),
        '--concurrency',
        '8',
        '--log-interval',
        '0',
      ]);
      assert.equal(rest.code, 0, rest.stdout + rest.stderr);
      const m = /(\d+) copied .*, (\d+) skipped/.exec(rest.stdout);
      assert.ok(m, rest.stdout);
      assert.equal(Number(m[1]) + Number(m[2]), everything.length, rest.stdout);
      assert.ok(Number(m[2]) >= cold.length, 'the cold data and what mirroring pulled are skipped');
      assert.ok(Number(m[1]) >= tail.size, `the long tail nobody asked for (${tail.size} files) is copied`);
      reading = false;
      await Promise.all(readers);
      assert.deepEqual(failures, [], `${failures.length} of ${reads} client requests failed`);
      assert.ok(reads > 100, `${reads} reads`);
      assert.ok(created > 50, `${created} files created during the drill`);
      t.diagnostic(
        `drill: ${reads} client reads, 0 failed; ${created} files created meanwhile; cold ${cold.length}, then ${m[1]} copied and ${m[2]} skipped of ${everything.length}`,
      );

      // 4. proof: every key the origin has is in the bucket with the same bytes
      const v = await cli(['verify', '--origin', origin.url, '--keys', path.join(dir, 'all.txt'), '--deep', '--log-interval', '0']);
      assert.equal(v.code, 0, v.stdout + v.stderr);
      assert.match(
        v.stdout,
        new RegExp(
          `${everything.length} checked, ${everything.length} at parity \\(100%\\), 0 missing, 0 size mismatch, 0 content mismatch, 0 changed at the origin, 0 errors`,
        ),
      );
      assert.deepEqual((await keysIn(client, 'www')).sort(), [...everything].sort());

      // 5. the rule goes, the origin is retired: Osprey serves everything on its own
      const del = await cli(['rules', 'delete']);
      assert.equal(del.code, 0, del.stdout + del.stderr);
      const before = origin.requests;
      await origin.close();
      for (const key of everything.filter((_, i) => i % 7 === 0)) {
        const r = await fetch(urlOf(server, key));
        assert.equal(r.status, 200, key);
        assert.equal(md5(Buffer.from(await r.arrayBuffer())), md5(origin.files.get(key)?.body ?? ''), key);
        assert.equal(r.headers.get('x-oss-tag'), `MIRROR ${origin.url}${key}`);
      }
      assert.equal(origin.requests, before);
    });
  },
);
