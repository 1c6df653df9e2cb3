#!/usr/bin/env node
// A pipeline worker: runs one job spec (the local executor starts it; see src/pipeline/worker.ts).
// Through tsx, like bin/clearbench.js, so TypeScript method plugins load without a build step.
import { register } from 'tsx/esm/api';
register();
const { workerMain } = await import('../src/pipeline/worker.ts');
await workerMain(process.argv[2]);
