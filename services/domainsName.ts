// What counts as a custom domain: one DNS name the platform can verify by TXT and get a
// certificate for over HTTP-01. International names are stored in their ASCII (punycode) form.
import { isIP } from 'node:net';
import { domainToASCII, domainToUnicode } from 'node:url';
import { ValidationError } from './errors.ts';

export const TXT_LABEL = '_spunto-challenge';
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// The TXT name `_spunto-challenge.<domain>` must itself fit in 253 characters.
const MAX_DOMAIN = 253 - TXT_LABEL.length - 1;

export function txtRecordName(domain: string): string {
  return `${TXT_LABEL}.${domain}`;
}

export function unicodeForm(domain: string): string {
  return domainToUnicode(domain) || domain;
}

/**
 * The ASCII form of a user-entered domain, or a ValidationError saying why it can't be one:
 * no wildcards (they need DNS-01), no IP literals, nothing under the platform's base domain.
 */
export function normalizeDomain(input: string, baseDomain: string, field = 'domain'): string {
  const fail = (message: string) => ValidationError.single(field, message);
  let name = input.trim();
  if (!name) throw fail('must not be empty');
  if (name.includes('*')) throw fail('wildcard domains are not supported: certificates are issued over HTTP-01, which cannot cover a wildcard');
  if (/^\[.*\]$/.test(name) || isIP(name)) throw fail('an IP address cannot be a custom domain');
  if (/[/:?#@\s]/.test(name)) throw fail('enter a bare domain name such as app.example.com, without scheme, port, path or spaces');
  if (name.endsWith('.')) name = name.slice(0, -1);
  const ascii = domainToASCII(name);
  if (!ascii) throw fail(`"${input.trim()}" is not a valid domain name`);
  if (isIP(ascii)) throw fail('an IP address cannot be a custom domain');
  const labels = ascii.split('.');
  if (labels.length < 2) throw fail('must have at least two labels, such as example.com');
  const bad = labels.find((label) => !LABEL.test(label));
  if (bad !== undefined) {
    throw fail(`label "${bad}" is invalid: each label is 1-63 letters, digits or hyphens, not starting or ending with a hyphen`);
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1])) throw fail('the top-level label cannot be numeric');
  if (ascii.length > MAX_DOMAIN) throw fail(`must be at most ${MAX_DOMAIN} characters (the TXT record name adds "${TXT_LABEL}.")`);
  if (ascii === baseDomain || ascii.endsWith(`.${baseDomain}`)) {
    throw fail(`${ascii} is under the platform's base domain ${baseDomain}; its services already get <service>.<deployment>.${baseDomain}`);
  }
  return ascii;
}
