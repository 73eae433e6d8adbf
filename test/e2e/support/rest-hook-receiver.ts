import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One notification as the receiver got it. */
export type Notification = { headers: http.IncomingHttpHeaders; body: string; resource?: { resourceType: string; id: string; status?: string } };

/**
 * A subscriber's endpoint for FHIR rest-hook notifications: an HTTP server that keeps every POST
 * it takes, and that a test can take down and bring back on the same port, as a system that
 * goes away for a while.
 */
export class RestHookReceiver {
  readonly notifications: Notification[] = [];
  private server: http.Server | undefined;
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/notify`;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<void> {
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const notification: Notification = { headers: request.headers, body };
        if (body !== '') notification.resource = JSON.parse(body) as Notification['resource'];
        this.notifications.push(notification);
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Down: connections refused until `start` again, on the same port. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The notifications about one resource (`Encounter/12`), in the order they came. */
  about(reference: string): Notification[] {
    return this.notifications.filter((n) => n.resource && `${n.resource.resourceType}/${n.resource.id}` === reference);
  }
}
