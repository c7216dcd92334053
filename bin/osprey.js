#!/usr/bin/env node
// Runs the compiled server when `npm run build` has made dist/ (what `npm start` does), and the
// TypeScript sources through tsx otherwise (a fresh checkout).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/main.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
