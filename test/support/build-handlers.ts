/**
 * Vitest global setup: builds the five Lambda bundles into dist/handlers before any test
 * runs, because the construct deploys those prebuilt bundles (infra/constructs/broker-function.ts)
 * and every synth in the infra tests stages them. About a second; the library build
 * (types, ESM, CommonJS) is left to the package test, the only one that needs it.
 */
import { buildHandlers } from '../../scripts/build';

export default async function setup(): Promise<void> {
  await buildHandlers();
}
