#!/usr/bin/env node
/** The `oauth-token-broker` command (package.json `bin`): lib/cli/main.ts on this process. */
import { main } from './main';

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
