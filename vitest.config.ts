import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The construct deploys prebuilt bundles: build them once before any synth.
    globalSetup: ['test/support/build-handlers.ts'],
    reporters: ['default', './test/support/plain-summary-reporter.ts'],
    // Integration tests start dynalite and oidc-provider on loopback; CDK synth is slow to import.
    testTimeout: 30_000,
    // Vitest's default is one worker less than the cores: one file at a time on a 2-core CI machine,
    // although most files spend their time waiting on child processes (dynalite, DynamoDB Local,
    // npm start, Chromium, npm pack, cdk synth). Three workers keep both cores busy.
    maxWorkers: 3,
    hookTimeout: 60_000,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT' },
  },
});
