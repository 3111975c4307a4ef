/**
 * Where the e2e tests find their browser: Debian's Chromium, never a downloaded one
 * (`npx playwright install` cannot work here). CI installs it in `.ci/run`.
 */
import { accessSync, constants } from 'node:fs';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags for headless Chromium as root on a machine with a closed network: without the
 * background-networking ones it keeps trying (and failing) to reach Google's hosts.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Undefined when Chromium is there and executable, else why not and how to get it. */
export function chromiumMissing(): string | undefined {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return undefined;
  } catch {
    return `no executable Chromium at ${CHROMIUM_PATH}; install Debian's: apt-get install -y chromium (never npx playwright install)`;
  }
}
