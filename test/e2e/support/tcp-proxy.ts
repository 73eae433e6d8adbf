import net from 'node:net';

/**
 * A TCP forwarder on a free port of 127.0.0.1 whose target can be switched: what a Kubernetes
 * Service is to its clients, one address in front of whichever server it points at (the
 * `postgres-rw` Service of CloudNativePG, which follows the primary through a failover).
 *
 *   const proxy = await TcpProxy.start(primary.port);
 *   ... DATABASE_URL names 127.0.0.1:${proxy.port} ...
 *   proxy.switchTo(standby.port);   // new connections go there; every open one is cut
 *   await proxy.close();
 *
 * Each connection is forwarded to the target of the moment it was opened, and a connection ends
 * as a whole: when either side ends or fails, both are destroyed. `switchTo` resets (RST) every
 * open connection, as the clients of a Service that now points at a new primary find their old
 * connections dead; the clients must connect again, and reach the new target.
 *
 * `hold()` stalls the link: nothing is forwarded either way (what was sent waits in buffers)
 * until `release()`; what is still held when the connections are cut is lost with them, as on a
 * network that failed. Between a primary and its standby it makes the standby fall behind.
 */
export class TcpProxy {
  readonly port: number;
  private targetPort: number;
  private readonly server: net.Server;
  private readonly open = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private held = false;

  private constructor(server: net.Server, port: number, targetPort: number) {
    this.server = server;
    this.port = port;
    this.targetPort = targetPort;
    server.on('connection', (client) => this.forward(client));
  }

  /** Listens on a free port of 127.0.0.1, forwarding to 127.0.0.1:`targetPort`. */
  static async start(targetPort: number): Promise<TcpProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new TcpProxy(server, (server.address() as net.AddressInfo).port, targetPort);
  }

  /** The port new connections are forwarded to. */
  get target(): number {
    return this.targetPort;
  }

  /** Forwards new connections to 127.0.0.1:`port`, and resets every open one; returns how many were cut. */
  switchTo(port: number): number {
    this.targetPort = port;
    const cut = this.open.size;
    for (const pair of this.open) {
      pair.client.resetAndDestroy();
      pair.upstream.destroy();
    }
    this.open.clear();
    return cut;
  }

  /** Stops forwarding, on the open connections and on new ones, until `release`. */
  hold(): void {
    this.held = true;
    for (const { client, upstream } of this.open) {
      client.unpipe(upstream).pause();
      upstream.unpipe(client).pause();
    }
  }

  /** Forwards again, what was held first. */
  release(): void {
    this.held = false;
    for (const { client, upstream } of this.open) {
      client.pipe(upstream);
      upstream.pipe(client);
    }
  }

  /** Stops listening and cuts every open connection. */
  async close(): Promise<void> {
    this.switchTo(this.targetPort);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forward(client: net.Socket): void {
    const upstream = net.connect({ host: '127.0.0.1', port: this.targetPort });
    const pair = { client, upstream };
    this.open.add(pair);
    const end = () => {
      if (!this.open.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      socket.on('error', end);
      socket.on('close', end);
    }
    if (this.held) return;
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
