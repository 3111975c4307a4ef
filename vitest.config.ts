import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The construct deploys prebuilt bundles: build them once before any synth.
    globalSetup: ['test/support/build-handlers.ts'],
    reporters: ['default', './test/support/plain-summary-reporter.ts'],
    // Integration tests start dynalite and oidc-provider on loopback; CDK synth is slow to import.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT' },
  },
});
