// Reads `_spunto-challenge.<domain>` TXT with the configured resolvers and says, in the
// user's terms, what it found: the record to create, and what the platform sees there now.
import { promises as dns } from 'node:dns';
import { txtRecordName } from './domainsName.ts';

export const CHECK_STATUSES = ['PENDING', 'VERIFIED', 'MISSING', 'MISMATCH', 'NXDOMAIN', 'TIMEOUT', 'DNS_ERROR'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

export interface TxtCheck {
  status: CheckStatus;
  message: string;
  /** every TXT value found at the name (chunks joined) */
  observed: string[];
}

export interface TxtResolverOptions {
  /** host:port list; empty = the system resolvers */
  servers: string[];
  timeoutMs: number;
  tries: number;
}

export function instruction(domain: string, token: string): string {
  return `Create a TXT record named ${txtRecordName(domain)} with the value "${token}", then verify.`;
}

export async function checkTxt(domain: string, token: string, options: TxtResolverOptions): Promise<TxtCheck> {
  const name = txtRecordName(domain);
  const resolver = new dns.Resolver({ timeout: options.timeoutMs, tries: options.tries });
  if (options.servers.length) resolver.setServers(options.servers);
  const servers = options.servers.length ? options.servers.join(', ') : 'the system resolvers';
  const todo = instruction(domain, token);
  let records: string[][];
  try {
    records = await resolver.resolveTxt(name);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    switch (code) {
      case 'ENODATA':
        return { status: 'MISSING', observed: [], message: `${name} has no TXT record yet (asked ${servers}). ${todo}` };
      case 'ENOTFOUND':
        return { status: 'NXDOMAIN', observed: [], message: `${name} does not exist (NXDOMAIN from ${servers}). ${todo}` };
      case 'ETIMEOUT':
        return {
          status: 'TIMEOUT',
          observed: [],
          message: `${servers} did not answer for ${name} (timed out after ${options.tries} tries); try again later.`,
        };
      default:
        return { status: 'DNS_ERROR', observed: [], message: `looking up TXT ${name} failed (${code ?? (error as Error).message} from ${servers}); try again later.` };
    }
  }
  const observed = records.map((chunks) => chunks.join(''));
  if (observed.some((value) => value.trim() === token)) {
    return { status: 'VERIFIED', observed, message: `TXT ${name} holds the verification token: the domain is verified.` };
  }
  const seen = observed.map((v) => JSON.stringify(v)).join(', ');
  return {
    status: 'MISMATCH',
    observed,
    message: `TXT ${name} holds ${seen}, not the verification token "${token}". Add or correct the record, then verify again (DNS changes can take a while to propagate).`,
  };
}
