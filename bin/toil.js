#!/usr/bin/env node
// The `toil` command. The TypeScript sources are compiled to dist/ by `npm ci` (prepare) or `npm run build`.
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
