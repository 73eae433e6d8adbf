import { createParser, type EventSourceMessage } from 'eventsource-parser';

/**
 * A server-sent event stream read as the console reads it (fetch with a bearer token, parsed by
 * eventsource-parser), keeping every event and comment for the test to look at.
 */
export class EventStreamReader {
  readonly events: EventSourceMessage[] = [];
  readonly comments: string[] = [];
  /** Every byte received, as text: what a test checks for what must never be in the stream. */
  raw = '';
  status = 0;
  contentType = '';
  /** Settles when the server ends the stream (resolves) or it fails (resolves too, with the error). */
  readonly ended: Promise<{ error?: unknown }>;
  private readonly controller = new AbortController();
  private readonly opened: Promise<void>;

  constructor(url: string, token: string | undefined) {
    let markOpened!: () => void;
    let failOpen!: (error: unknown) => void;
    this.opened = new Promise<void>((resolve, reject) => {
      markOpened = resolve;
      failOpen = reject;
    });
    this.ended = (async () => {
      try {
        const response = await fetch(url, {
          headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          signal: this.controller.signal,
        });
        this.status = response.status;
        this.contentType = response.headers.get('content-type') ?? '';
        markOpened();
        if (!response.body) return {};
        const parser = createParser({ onEvent: (event) => this.events.push(event), onComment: (comment) => this.comments.push(comment) });
        const decoder = new TextDecoder();
        for await (const chunk of response.body) {
          const text = decoder.decode(chunk, { stream: true });
          this.raw += text;
          parser.feed(text);
        }
        return {};
      } catch (error) {
        failOpen(error);
        return { error };
      }
    })();
  }

  /** Waits for the answer's status and headers. */
  async open(): Promise<this> {
    await this.opened;
    return this;
  }

  /** The events named `name`, their data parsed as JSON. */
  data<T>(name: string): T[] {
    return this.events.filter((event) => event.event === name).map((event) => JSON.parse(event.data) as T);
  }

  close(): void {
    this.controller.abort();
  }
}
