/**
 * The operator's branding for the pages customers see (install errors, "Connected", "this app
 * is misconfigured"): an app name, a logo, an accent colour and where to report a problem.
 * All optional. Checked once, where the configuration is read (lib/runtime.ts for
 * `BROKER_BRAND_*`, infra/broker.ts for the construct's `branding` prop), so a bad value fails
 * the start or the synth with the variable's name instead of breaking a page.
 */
import { BrokerError } from './errors';

export interface Branding {
  /** The app customers are connecting (`BROKER_BRAND_NAME`): "Connected to Acme CRM", "tell Acme CRM". */
  appName?: string;
  /** An https image URL (`BROKER_BRAND_LOGO_URL`), shown beside the app name (its origin is the only image source the pages allow). */
  logoUrl?: string;
  /** Accent colour `#rrggbb` (`BROKER_BRAND_COLOR`): the page band and the main button; the text on it is chosen for AA contrast. */
  color?: string;
  /** Where a customer reports a problem (`BROKER_SUPPORT_URL`): an https URL or `mailto:` address. */
  supportUrl?: string;
}

/** What each field is called where the operator set it (an env var, a CDK prop), for the error message. */
export type BrandingFieldNames = Record<keyof Branding, string>;

export const BRANDING_ENV: BrandingFieldNames = {
  appName: 'BROKER_BRAND_NAME',
  logoUrl: 'BROKER_BRAND_LOGO_URL',
  color: 'BROKER_BRAND_COLOR',
  supportUrl: 'BROKER_SUPPORT_URL',
};

const MAX_NAME = 60;
const MAX_URL = 2048;

/** Validates branding values; throws `configuration_error` naming the field (never echoing a long value). */
export function checkBranding(input: Branding, names: BrandingFieldNames = BRANDING_ENV): Branding {
  const problem = (field: keyof Branding, rule: string) => new BrokerError('configuration_error', `${names[field]} ${rule}`, { details: { field: names[field] } });
  const branding: Branding = {};
  if (input.appName !== undefined) {
    const name = input.appName.trim();
    // Printable text only: it is shown in page titles and headings (escaped) and in log-free copy.
    if (name.length === 0 || name.length > MAX_NAME || /[\p{Cc}\p{Cf}]/u.test(name)) throw problem('appName', `must be 1 to ${MAX_NAME} printable characters`);
    branding.appName = name;
  }
  if (input.logoUrl !== undefined) {
    if (!isWebUrl(input.logoUrl)) throw problem('logoUrl', 'must be an absolute https URL without credentials (http only for localhost), at most 2048 characters');
    branding.logoUrl = new URL(input.logoUrl).toString();
  }
  if (input.color !== undefined) {
    const match = /^#(?:([0-9a-f]{6})|([0-9a-f])([0-9a-f])([0-9a-f]))$/i.exec(input.color.trim());
    if (!match) throw problem('color', 'must be a hex colour like #1f6feb or #16b');
    branding.color = `#${match[1] ?? `${match[2]}${match[2]}${match[3]}${match[3]}${match[4]}${match[4]}`}`.toLowerCase();
  }
  if (input.supportUrl !== undefined) {
    const mailto = /^mailto:[^\s@/?#]+@[^\s@/?#]+$/i.test(input.supportUrl);
    if (!mailto && !isWebUrl(input.supportUrl)) throw problem('supportUrl', 'must be an https URL (http only for localhost) or a mailto: address');
    branding.supportUrl = mailto ? input.supportUrl : new URL(input.supportUrl).toString();
  }
  return branding;
}

/** Branding from `BROKER_BRAND_*` / `BROKER_SUPPORT_URL`; undefined when none is set. */
export function brandingFromEnv(env: Record<string, string | undefined>): Branding | undefined {
  const raw: Branding = {};
  for (const [field, variable] of Object.entries(BRANDING_ENV) as Array<[keyof Branding, string]>) {
    const value = env[variable];
    if (value !== undefined && value !== '') raw[field] = value;
  }
  return Object.keys(raw).length === 0 ? undefined : checkBranding(raw);
}

/** The environment variables that carry `branding` (what the CDK construct sets on the page-serving functions). */
export function brandingEnvironment(branding: Branding | undefined): Record<string, string> {
  if (!branding) return {};
  return Object.fromEntries(
    (Object.entries(BRANDING_ENV) as Array<[keyof Branding, string]>).filter(([field]) => branding[field] !== undefined).map(([field, variable]) => [variable, branding[field]!]),
  );
}

/**
 * The text colour for `background` with the higher WCAG contrast: white or black. One of them
 * always reaches at least 4.58:1, above AA's 4.5:1 for body text, so no operator colour can
 * make the band or the button unreadable. (Not a softer near-black: with #1f2328 the worst
 * background falls to 4.0:1.)
 */
export function textColorOn(background: string): '#ffffff' | '#000000' {
  return contrastRatio(background, '#ffffff') >= contrastRatio(background, '#000000') ? '#ffffff' : '#000000';
}

/** WCAG 2.x contrast ratio of two `#rrggbb` colours (https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio). */
export function contrastRatio(a: string, b: string): number {
  const [lighter, darker] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x) as [number, number];
  return (lighter + 0.05) / (darker + 0.05);
}

function relativeLuminance(hex: string): number {
  const channel = (offset: number) => {
    const value = parseInt(hex.slice(offset, offset + 2), 16) / 255;
    return value <= 0.04045 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

function isWebUrl(value: string): boolean {
  if (value.length > MAX_URL) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  // WHATWG URL takes hosts DNS never serves ('a;b', 'a,b', "a'b"); the logo's origin goes into the
  // pages' CSP, where ';' and ',' would start a directive or a policy. (IDN hosts arrive as xn--.)
  if (!/^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])$/i.test(url.hostname)) return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && (url.hostname === 'localhost' || url.hostname === '127.0.0.1');
}
