/**
 * @module cli/serve
 * `osprey serve`: flags > env > config file > defaults, then start the server.
 * Invalid configuration: one line naming the setting, exit code 2. A data dir another server holds:
 * one line naming that server's PID, exit code 2.
 */
import { Command } from 'commander';
import type { RawSettings } from '../config.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function serveCommand(): Command {
  return new Command('serve')
    .description('start the Osprey server')
    .option('--address <host:port>', 'address to listen on (default 127.0.0.1:9000)')
    .option('--data <dir>', 'data directory of the embedded store (default ./data)')
    .option(
      '--storage <url>',
      's3://BUCKET[/PREFIX]: keep everything in an S3-compatible store (several nodes can share it); key pair from OSPREY_STORAGE_ACCESS_KEY_ID / OSPREY_STORAGE_SECRET_ACCESS_KEY',
    )
    .option('--storage-endpoint <url>', "the store's endpoint URL (with --storage)")
    .option('--storage-region <region>', "the store's region (default us-east-1)")
    .option('--domain <domain>', 'base domain for virtual-hosted-style requests (repeatable)', collect)
    .option('--bind-domain <host=bucket>', 'serve a bucket at its own host name (repeatable)', collect)
    .option('--region <region>', 'region reported to clients (default us-east-1)')
    .option('--max-routing-rules <n>', 'routing rules allowed per bucket (default 5)')
    .option('--max-object-size <bytes>', 'largest object accepted')
    .option('--origin-allow <list>', 'origin addresses allowed although loopback/link-local (CIDRs, IPs, names; repeatable)', collect)
    .option('--mirror-timeout <ms>', 'origin connect + response-headers timeout (default 10000)')
    .option('--mirror-idle-timeout <ms>', 'origin idle-body timeout (default 10000)')
    .option('--mirror-max-per-origin <n>', 'mirror fills at once per origin host (default 64)')
    .option('--mirror-tag <form>', "x-oss-tag form: url ('MIRROR <origin URL>', default) or bare ('MIRROR')")
    .option('--metrics-token <token>', 'bearer token that allows /-/metrics from other than loopback (env OSPREY_METRICS_TOKEN)')
    .option('--shutdown-timeout <ms>', 'on SIGTERM/SIGINT, time given to requests and fills in flight (default 30000)')
    .option('--log-format <format>', 'json or pretty')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .option('--config <file>', 'config file (.toml, or JSON)')
    .action(async (opts: Record<string, string | string[] | undefined>) => {
      // the server's modules load only for `serve`, so `osprey import`/`rules`/`verify` start fast (#19)
      const [{ startApp }, { DataDirInUse }, { buildConfig, ConfigError, envSettings, readConfigFile }] = await Promise.all([
        import('../app.js'),
        import('../storage/fs/lock.js'),
        import('../config.js'),
      ]);
      let app;
      try {
        const file: RawSettings = typeof opts.config === 'string' ? readConfigFile(opts.config) : {};
        const flags: RawSettings = {
          address: opts.address,
          dataDir: opts.data,
          domains: opts.domain,
          bindDomains: opts.bindDomain,
          region: opts.region,
          maxRoutingRules: opts.maxRoutingRules,
          maxObjectSize: opts.maxObjectSize,
          logFormat: opts.logFormat,
          logLevel: opts.logLevel,
          originAllow: opts.originAllow,
          mirrorTimeoutMs: opts.mirrorTimeout,
          mirrorIdleTimeoutMs: opts.mirrorIdleTimeout,
          mirrorTag: opts.mirrorTag,
          mirrorMaxPerOrigin: opts.mirrorMaxPerOrigin,
          metricsToken: opts.metricsToken,
          shutdownTimeoutMs: opts.shutdownTimeout,
          storage: opts.storage,
          storageEndpoint: opts.storageEndpoint,
          storageRegion: opts.storageRegion,
        };
        const config = buildConfig(file, envSettings(process.env), flags);
        // the GET path compiled before the server listens: its first users' requests run warm (issue 19)
        app = await startApp(config, undefined, { warmUp: 'before-listen' });
      } catch (err) {
        if (err instanceof ConfigError || err instanceof DataDirInUse) {
          process.stderr.write(`osprey: ${err.message}\n`);
          process.exit(2);
        }
        const code = (err as { code?: string }).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
          process.stderr.write(`osprey: invalid setting 'address': ${(err as Error).message}\n`);
          process.exit(2);
        }
        throw err;
      }
      const running = app;
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) return;
        stopping = true;
        running.log.info({ signal }, 'shutting down: no new connections, waiting for requests and fills in flight');
        void running.close().then(
          () => {
            running.log.info('stopped');
            process.exit(0);
          },
          (err: unknown) => {
            running.log.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      // handlers first: a supervisor may signal as soon as it reads the banner below
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      const { credentials } = app;
      process.stdout.write(
        `Osprey is listening on ${app.url}\n` +
          `  web console:       ${app.url}/-/console/\n` +
          `  access key id:     ${credentials.accessKeyId}\n` +
          `  secret access key: ${credentials.secretAccessKey}${credentials.generated ? `   (generated and saved in ${app.driver.name === 's3' ? 'the store' : 'the data dir'})` : ''}\n`,
      );
    });
}
