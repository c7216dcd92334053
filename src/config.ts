/**
 * @module config
 * defaults < config file (TOML or JSON) < environment < flags -> one validated, frozen Config.
 * Invalid settings raise ConfigError naming the setting; the CLI prints it on one line, exit 2.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';

export interface Config {
  /** host and port to listen on */
  host: string;
  port: number;
  /** data directory of the embedded store */
  dataDir: string;
  /** base domains for virtual-hosted-style requests: bucket.DOMAIN */
  domains: string[];
  /** host name -> bucket (OSS-style custom domain binding) */
  bindDomains: Record<string, string>;
  /** credentials; undefined -> generated and kept in the data dir */
  accessKeyId?: string;
  secretAccessKey?: string;
  region: string;
  logFormat: 'json' | 'pretty';
  logLevel: string;
  /** routing rules allowed per bucket (spec: 5 by default) */
  maxRoutingRules: number;
  /** largest object accepted, bytes */
  maxObjectSize: number;
  /** smallest multipart part except the last, bytes */
  minPartSize: number;
  /** origin hosts/addresses (IPv4 CIDRs, IPs, names) allowed although loopback/link-local/metadata */
  originAllow: string[];
  /** origin connect + response-headers timeout, ms (MIR-18) */
  mirrorTimeoutMs: number;
  /** origin idle-body timeout, ms (MIR-18) */
  mirrorIdleTimeoutMs: number;
  /** x-oss-tag form: 'url' (MIRROR <origin URL>) or 'bare' (MIRROR) */
  mirrorTag: 'url' | 'bare';
  /** MIR-38: time between two probes of a rule's MirrorURLProbe, ms */
  mirrorProbeIntervalMs: number;
  /** mirror fills running at once per origin host (MIR-44) */
  mirrorMaxPerOrigin: number;
  /** bearer token for /-/metrics from other than loopback; undefined: loopback only */
  metricsToken?: string;
  /** on SIGTERM/SIGINT: how long in-flight requests and fills may take to finish, ms */
  shutdownTimeoutMs: number;
  /** issue #7: `s3://BUCKET[/PREFIX]` puts everything in an S3-compatible store; undefined: the embedded store in dataDir */
  storage?: string;
  /** the store's endpoint URL (required with storage) */
  storageEndpoint?: string;
  storageRegion: string;
  /** the store's key pair (required with storage) */
  storageAccessKeyId?: string;
  storageSecretAccessKey?: string;
}

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`invalid setting '${setting}': ${message}`);
    this.name = 'ConfigError';
  }
}

export const DEFAULTS: Config = {
  host: '127.0.0.1',
  port: 9000,
  dataDir: './data',
  domains: [],
  bindDomains: {},
  region: 'us-east-1',
  logFormat: 'json',
  logLevel: 'info',
  maxRoutingRules: 5,
  maxObjectSize: 5 * 1024 ** 4,
  minPartSize: 5 * 1024 * 1024,
  originAllow: [],
  mirrorTimeoutMs: 10_000,
  mirrorIdleTimeoutMs: 10_000,
  mirrorTag: 'url',
  mirrorProbeIntervalMs: 10_000,
  mirrorMaxPerOrigin: 64,
  shutdownTimeoutMs: 30_000,
  storageRegion: 'us-east-1',
};

/** Raw settings as they come from a file, env or flags: each layer may set any subset. */
export type RawSettings = Partial<Record<keyof Config | 'address', unknown>>;

const KEYS: readonly (keyof Config | 'address')[] = [
  'host',
  'port',
  'address',
  'dataDir',
  'domains',
  'bindDomains',
  'accessKeyId',
  'secretAccessKey',
  'region',
  'mirrorProbeIntervalMs',
  'logFormat',
  'logLevel',
  'maxRoutingRules',
  'maxObjectSize',
  'minPartSize',
  'originAllow',
  'mirrorTimeoutMs',
  'mirrorIdleTimeoutMs',
  'mirrorTag',
  'mirrorMaxPerOrigin',
  'metricsToken',
  'shutdownTimeoutMs',
  'storage',
  'storageEndpoint',
  'storageRegion',
  'storageAccessKeyId',
  'storageSecretAccessKey',
];

/** Read a config file: `.toml` as TOML, anything else as JSON. Keys as in Config (camelCase) or kebab-case. */
export function readConfigFile(file: string): RawSettings {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('config', `cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = file.endsWith('.toml') ? parseToml(text) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError('config', `cannot parse ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError('config', `${file} must hold a table/object of settings`);
  }
  const out: RawSettings = {};
  for (const [k, v] of Object.entries(parsed)) {
    const key = k.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase()) as keyof RawSettings;
    if (!KEYS.includes(key)) throw new ConfigError(k, `unknown setting in ${file}`);
    out[key] = v;
  }
  return out;
}

export function envSettings(env: NodeJS.ProcessEnv): RawSettings {
  const out: RawSettings = {};
  if (env.OSPREY_ACCESS_KEY_ID) out.accessKeyId = env.OSPREY_ACCESS_KEY_ID;
  if (env.OSPREY_SECRET_ACCESS_KEY) out.secretAccessKey = env.OSPREY_SECRET_ACCESS_KEY;
  if (env.OSPREY_ADDRESS) out.address = env.OSPREY_ADDRESS;
  if (env.OSPREY_DATA) out.dataDir = env.OSPREY_DATA;
  if (env.OSPREY_DOMAIN) out.domains = env.OSPREY_DOMAIN.split(',').filter(Boolean);
  if (env.OSPREY_REGION) out.region = env.OSPREY_REGION;
  if (env.OSPREY_LOG_FORMAT) out.logFormat = env.OSPREY_LOG_FORMAT;
  if (env.OSPREY_LOG_LEVEL) out.logLevel = env.OSPREY_LOG_LEVEL;
  if (env.OSPREY_MAX_ROUTING_RULES) out.maxRoutingRules = env.OSPREY_MAX_ROUTING_RULES;
  if (env.OSPREY_METRICS_TOKEN) out.metricsToken = env.OSPREY_METRICS_TOKEN;
  if (env.OSPREY_STORAGE) out.storage = env.OSPREY_STORAGE;
  if (env.OSPREY_STORAGE_ENDPOINT) out.storageEndpoint = env.OSPREY_STORAGE_ENDPOINT;
  if (env.OSPREY_STORAGE_REGION) out.storageRegion = env.OSPREY_STORAGE_REGION;
  if (env.OSPREY_STORAGE_ACCESS_KEY_ID) out.storageAccessKeyId = env.OSPREY_STORAGE_ACCESS_KEY_ID;
  if (env.OSPREY_STORAGE_SECRET_ACCESS_KEY) out.storageSecretAccessKey = env.OSPREY_STORAGE_SECRET_ACCESS_KEY;
  if (env.OSPREY_ORIGIN_ALLOW)
    out.originAllow = env.OSPREY_ORIGIN_ALLOW.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return out;
}

/** Merge layers (later wins) and validate. */
export function buildConfig(...layers: RawSettings[]): Readonly<Config> {
  const merged: RawSettings = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) merged[k as keyof RawSettings] = v;
  }
  const c: Config = { ...DEFAULTS, domains: [], bindDomains: {}, originAllow: [] };
  if (merged.address !== undefined) {
    const { host, port } = parseAddress(str('address', merged.address));
    c.host = host;
    c.port = port;
  }
  if (merged.host !== undefined) c.host = str('host', merged.host);
  if (merged.port !== undefined) c.port = int('port', merged.port, 0, 65535);
  if (merged.dataDir !== undefined) c.dataDir = str('dataDir', merged.dataDir);
  c.dataDir = path.resolve(c.dataDir);
  if (merged.domains !== undefined) c.domains = strList('domains', merged.domains).map((d) => d.toLowerCase());
  for (const d of c.domains) {
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(d))
      throw new ConfigError('domain', `'${d}' is not a host name`);
  }
  if (merged.bindDomains !== undefined) c.bindDomains = bindings(merged.bindDomains);
  if (merged.accessKeyId !== undefined) c.accessKeyId = str('accessKeyId', merged.accessKeyId);
  if (merged.secretAccessKey !== undefined) c.secretAccessKey = str('secretAccessKey', merged.secretAccessKey);
  if ((c.accessKeyId === undefined) !== (c.secretAccessKey === undefined)) {
    throw new ConfigError(c.accessKeyId === undefined ? 'accessKeyId' : 'secretAccessKey', 'access key id and secret must be set together');
  }
  if (c.accessKeyId !== undefined && !/^[A-Za-z0-9_.-]{3,128}$/.test(c.accessKeyId)) {
    throw new ConfigError('accessKeyId', 'must be 3-128 characters of letters, digits, _ . -');
  }
  if (c.secretAccessKey !== undefined && c.secretAccessKey.length < 8)
    throw new ConfigError('secretAccessKey', 'must be at least 8 characters');
  if (merged.region !== undefined) c.region = str('region', merged.region);
  if (merged.logFormat !== undefined) {
    const f = str('logFormat', merged.logFormat);
    if (f !== 'json' && f !== 'pretty') throw new ConfigError('logFormat', `must be json or pretty, not '${f}'`);
    c.logFormat = f;
  }
  if (merged.logLevel !== undefined) {
    const l = str('logLevel', merged.logLevel);
    if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(l))
      throw new ConfigError('logLevel', `unknown level '${l}'`);
    c.logLevel = l;
  }
  if (merged.maxRoutingRules !== undefined) c.maxRoutingRules = int('maxRoutingRules', merged.maxRoutingRules, 1, 50);
  if (merged.maxObjectSize !== undefined) c.maxObjectSize = int('maxObjectSize', merged.maxObjectSize, 1, Number.MAX_SAFE_INTEGER);
  if (merged.minPartSize !== undefined) c.minPartSize = int('minPartSize', merged.minPartSize, 1, 5 * 1024 ** 3);
  if (merged.originAllow !== undefined) {
    c.originAllow = strList('originAllow', merged.originAllow)
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter(Boolean);
    for (const e of c.originAllow) {
      const cidr = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(e);
      if (cidr && Number(cidr[2]) > 32) throw new ConfigError('originAllow', `'${e}' is not a valid CIDR`);
    }
  }
  if (merged.mirrorTimeoutMs !== undefined) c.mirrorTimeoutMs = int('mirrorTimeoutMs', merged.mirrorTimeoutMs, 100, 600_000);
  if (merged.mirrorIdleTimeoutMs !== undefined)
    c.mirrorIdleTimeoutMs = int('mirrorIdleTimeoutMs', merged.mirrorIdleTimeoutMs, 100, 600_000);
  if (merged.mirrorProbeIntervalMs !== undefined)
    c.mirrorProbeIntervalMs = int('mirrorProbeIntervalMs', merged.mirrorProbeIntervalMs, 100, 3_600_000);
  if (merged.mirrorMaxPerOrigin !== undefined) c.mirrorMaxPerOrigin = int('mirrorMaxPerOrigin', merged.mirrorMaxPerOrigin, 1, 100_000);
  if (merged.mirrorTag !== undefined) {
    const t = str('mirrorTag', merged.mirrorTag);
    if (t !== 'url' && t !== 'bare') throw new ConfigError('mirrorTag', `must be url or bare, not '${t}'`);
    c.mirrorTag = t;
  }
  if (merged.metricsToken !== undefined) {
    c.metricsToken = str('metricsToken', merged.metricsToken);
    if (c.metricsToken.length < 16) throw new ConfigError('metricsToken', 'must be at least 16 characters');
  }
  if (merged.shutdownTimeoutMs !== undefined) c.shutdownTimeoutMs = int('shutdownTimeoutMs', merged.shutdownTimeoutMs, 0, 3_600_000);
  storageSettings(c, merged);
  return Object.freeze(c);
}

/** issue #7: --storage s3://BUCKET[/PREFIX] and what it needs (endpoint, key pair). */
function storageSettings(c: Config, merged: RawSettings): void {
  if (merged.storageRegion !== undefined) c.storageRegion = str('storageRegion', merged.storageRegion);
  if (merged.storage === undefined) return;
  const url = str('storage', merged.storage);
  if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(url))
    throw new ConfigError('storage', `'${url}' is not s3://BUCKET[/PREFIX]`);
  c.storage = url;
  if (merged.storageEndpoint === undefined)
    throw new ConfigError('storageEndpoint', "is required with --storage s3://… (the store's URL, e.g. http://10.0.0.5:7480)");
  const endpoint = str('storageEndpoint', merged.storageEndpoint);
  let parsed: URL | undefined;
  try {
    parsed = new URL(endpoint);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:'))
    throw new ConfigError('storageEndpoint', `'${endpoint}' is not an http(s) URL`);
  c.storageEndpoint = endpoint;
  if (merged.storageAccessKeyId === undefined || merged.storageSecretAccessKey === undefined) {
    throw new ConfigError(
      merged.storageAccessKeyId === undefined ? 'storageAccessKeyId' : 'storageSecretAccessKey',
      "the store's key pair is required with --storage s3://… (OSPREY_STORAGE_ACCESS_KEY_ID / OSPREY_STORAGE_SECRET_ACCESS_KEY)",
    );
  }
  c.storageAccessKeyId = str('storageAccessKeyId', merged.storageAccessKeyId);
  c.storageSecretAccessKey = str('storageSecretAccessKey', merged.storageSecretAccessKey);
}

export function parseAddress(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(s);
  if (!m) throw new ConfigError('address', `'${s}' is not HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError('address', `port ${port} is out of range`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

function str(name: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') throw new ConfigError(name, 'must be a non-empty string');
  return v;
}

function int(name: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, not '${String(v)}'`);
  }
  return n;
}

function strList(name: string, v: unknown): string[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && x !== ''))
    throw new ConfigError(name, 'must be a list of strings');
  return list as string[];
}

/** `host=bucket` strings (flags) or a { host: bucket } table (file). */
function bindings(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const entries: [string, unknown][] =
    typeof v === 'string' || Array.isArray(v)
      ? strList('bindDomain', v).map((s) => {
          const i = s.indexOf('=');
          if (i <= 0) throw new ConfigError('bindDomain', `'${s}' is not HOST=BUCKET`);
          return [s.slice(0, i), s.slice(i + 1)];
        })
      : v !== null && typeof v === 'object'
        ? Object.entries(v)
        : [];
  for (const [host, bucket] of entries) {
    out[host.toLowerCase()] = str(`bindDomain ${host}`, bucket);
  }
  return out;
}
