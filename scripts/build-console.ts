/**
 * Builds the web console (web/console/, Preact + TSX) into dist/web/console/: type-checks it with
 * its own tsconfig, bundles and minifies it with esbuild into content-hashed files, and writes
 * index.html pointing at them. Nothing is fetched at build or at run time.
 *
 *   node --import tsx scripts/build-console.ts [--no-check]
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(import.meta.dirname, '..');
const SRC = path.join(ROOT, 'web/console');
export const CONSOLE_OUT = path.join(ROOT, 'dist/web/console');

export interface BuildResult {
  outDir: string;
  files: { name: string; bytes: number }[];
  ms: number;
}

export async function buildConsole(opts: { check?: boolean; outDir?: string } = {}): Promise<BuildResult> {
  const started = Date.now();
  const outDir = opts.outDir ?? CONSOLE_OUT;
  if (opts.check !== false) {
    // esbuild strips types without checking them; tsc does the checking (strict, own tsconfig)
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(SRC, 'tsconfig.json')], {
      stdio: 'inherit',
    });
  }
  // build next to the target and swap, so a running server never serves half a build
  const tmp = `${outDir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(path.join(tmp, 'assets'), { recursive: true });
  const result = await esbuild.build({
    entryPoints: [path.join(SRC, 'src/main.tsx')],
    bundle: true,
    format: 'esm',
    target: ['es2022', 'chrome100', 'firefox100', 'safari15'],
    minify: true,
    sourcemap: 'linked',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    outdir: path.join(tmp, 'assets'),
    metafile: true,
    legalComments: 'linked',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => path.basename(p));
  const js = outputs.filter((n) => n.endsWith('.js'));
  const css = outputs.filter((n) => n.endsWith('.css'));
  if (js.length !== 1) throw new Error(`expected one script bundle, got ${js.join(', ')}`);
  const template = await readFile(path.join(SRC, 'index.html'), 'utf8');
  const html = template
    .replace('<!-- STYLES -->', css.map((n) => `<link rel="stylesheet" href="assets/${n}">`).join('\n'))
    .replace('<!-- SCRIPTS -->', js.map((n) => `<script type="module" src="assets/${n}"></script>`).join('\n'));
  await writeFile(path.join(tmp, 'index.html'), html);
  await install(tmp, outDir);
  const files = Object.entries(result.metafile.outputs).map(([p, o]) => ({ name: `assets/${path.basename(p)}`, bytes: o.bytes }));
  return { outDir, files, ms: Date.now() - started };
}

/** Every file under `dir` (relative names) with its bytes; undefined when `dir` does not exist. */
async function tree(dir: string): Promise<Map<string, Buffer> | undefined> {
  let names: string[];
  try {
    names = (await readdir(dir, { recursive: true, withFileTypes: true }))
      .filter((d) => d.isFile())
      .map((d) => path.relative(dir, path.join(d.parentPath, d.name)));
  } catch {
    return undefined;
  }
  return new Map(await Promise.all(names.map(async (n) => [n, await readFile(path.join(dir, n))] as const)));
}

/**
 * Put a finished build in place. The build is deterministic, so an identical tree already there
 * (another test process built the same sources) is left alone: servers reading it never see a gap,
 * and concurrent builds do not trip over each other.
 */
async function install(tmp: string, outDir: string): Promise<void> {
  const [fresh, current] = await Promise.all([tree(tmp), tree(outDir)]);
  const same = fresh && current && fresh.size === current.size && [...fresh].every(([n, b]) => current.get(n)?.equals(b) === true);
  if (same) {
    await rm(tmp, { recursive: true, force: true });
    return;
  }
  await mkdir(path.dirname(outDir), { recursive: true });
  const old = `${outDir}.old-${process.pid}`;
  await rename(outDir, old).catch(() => undefined); // absent, or moved by a concurrent build
  try {
    await rename(tmp, outDir);
  } catch {
    // a concurrent build put its (identical) output in place first
    await rm(tmp, { recursive: true, force: true });
  }
  await rm(old, { recursive: true, force: true });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await buildConsole({ check: !process.argv.includes('--no-check') });
  for (const f of r.files)
    if (!f.name.endsWith('.map')) console.log(`  ${path.relative(ROOT, path.join(r.outDir, f.name))}  ${(f.bytes / 1024).toFixed(1)} KiB`);
  console.log(`console built in ${r.ms} ms -> ${path.relative(ROOT, r.outDir)}/`);
}
