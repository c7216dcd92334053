/**
 * A recording HTTP proxy for the S3 pass: it stands between Osprey and the store (Ceph RGW) and
 * records every request the driver sends, forwarding the Host header as it came so that the
 * driver's signatures stay valid.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  /** the store path, without the query */
  path: string;
  query: string;
}

export interface Recorder {
  url: string;
  log: Recorded[];
  close(): Promise<void>;
}

/** A plain forwarding proxy in front of `target` that records each request it forwards. */
export async function startRecorder(target: string): Promise<Recorder> {
  const to = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const log: Recorded[] = [];
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    log.push({
      method: req.method ?? 'GET',
      path: decodeURIComponent(q < 0 ? url : url.slice(0, q)),
      query: q < 0 ? '' : url.slice(q + 1),
    });
    const up = http.request({ host: to.hostname, port: to.port, method: req.method, path: url, headers: req.headers, agent }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      agent.destroy();
    },
  };
}
