/**
 * @module origin/origin-guard
 * VAL-16, the pure half: which origin addresses are refused unless an operator allow-list names
 * them (loopback, private, link-local, cloud metadata, multicast, unspecified). Used at PUT ?website on the literal
 * host of each origin URL; the mirror engine must apply `addressProblem` again to the address it
 * actually connects to after DNS resolution (a name can resolve anywhere).
 */
import { isIP } from 'node:net';

/** Why connecting to `ip` (a literal IPv4/IPv6 address) is refused by default, or undefined. */
export function addressProblem(ip: string): string | undefined {
  const bare = ip.replace(/^\[|\]$/g, '').toLowerCase();
  const v = isIP(bare);
  if (v === 4) return ipv4Problem(bare);
  if (v !== 6) return undefined;
  if (bare === '::1') return 'it is a loopback address';
  if (bare === '::') return 'it is the unspecified address';
  if (bare.startsWith('ff')) return 'it is a multicast address';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare)?.[1] ?? mappedHex(bare);
  if (mapped) return ipv4Problem(mapped);
  const first = parseInt(bare.split(':')[0] || '0', 16);
  if ((first & 0xffc0) === 0xfe80) return 'it is a link-local address';
  // fd00::/8 holds cloud metadata endpoints (AWS fd00:ec2::254)
  if ((first & 0xff00) === 0xfd00) return 'it is in fd00::/8 (cloud metadata)';
  if ((first & 0xfe00) === 0xfc00) return 'it is a private (unique local) address';
  return undefined;
}

function mappedHex(v6: string): string | undefined {
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (!m) return undefined;
  const hi = parseInt(m[1] ?? '0', 16);
  const lo = parseInt(m[2] ?? '0', 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

function ipv4Problem(ip: string): string | undefined {
  const [a, b] = ip.split('.').map(Number);
  if (a === 127) return 'it is a loopback address';
  if (a === 0) return 'it is in 0.0.0.0/8 (this host)';
  if (a === 169 && b === 254) return 'it is a link-local address (cloud metadata)';
  if (ip === '100.100.100.200') return 'it is the Alibaba Cloud metadata address';
  // the issue asks for private and multicast ranges too (RFC 1918, carrier-grade NAT, 224/4)
  if (a === 10 || (a === 172 && b !== undefined && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'it is a private address';
  if (a === 100 && b !== undefined && b >= 64 && b <= 127) return 'it is a shared (carrier-grade NAT) address';
  if (a !== undefined && a >= 224 && a <= 239) return 'it is a multicast address';
  if (ip === '255.255.255.255') return 'it is the broadcast address';
  return undefined;
}

/** Why an origin host name (before DNS) is refused by default: literal addresses and localhost. */
export function hostProblem(hostname: string): string | undefined {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return 'it names the local host';
  return addressProblem(h);
}

function ipv4ToInt(ip: string): number | undefined {
  if (isIP(ip) !== 4) return undefined;
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

/** Does allow-list entry `entry` (a host name, an IP address, or an IPv4 CIDR a.b.c.d/n) cover `host`? */
function allowed(entry: string, host: string): boolean {
  const e = entry.trim().toLowerCase();
  if (e === host) return true;
  const cidr = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(e);
  const base = cidr ? ipv4ToInt(cidr[1] ?? '') : undefined;
  const h = ipv4ToInt(host);
  if (!cidr || base === undefined || h === undefined) return false;
  const bits = Number(cidr[2]);
  if (bits > 32) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (base & mask) >>> 0 === (h & mask) >>> 0;
}

/** What to put on the allow-list for `host`: 127.0.0.0/8 for an IPv4 loopback address, else the host itself. */
function allowHint(host: string): string {
  return /^127\.\d+\.\d+\.\d+$/.test(host) ? '127.0.0.0/8' : host;
}

/**
 * The guard `parseWebsiteXml` takes (ParseOptions.originGuard): refuses loopback, link-local,
 * metadata and unspecified hosts unless `allowList` names them. The WHATWG URL parser has already
 * normalised odd IPv4 spellings (`http://2130706433/` has hostname 127.0.0.1).
 */
export function originGuard(allowList: readonly string[] = []): (url: URL) => string | undefined {
  return (url) => {
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const problem = hostProblem(host);
    if (problem === undefined || allowList.some((e) => allowed(e, host))) return undefined;
    return `${problem}; an operator can allow it with the origin allow-list: --origin-allow ${allowHint(host)} (or OSPREY_ORIGIN_ALLOW, or origin-allow in the config file)`;
  };
}
