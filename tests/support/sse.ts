/** A Server-Sent Events client over fetch, for the notification stream. */
import { waitFor } from './wait.js';

export interface StreamEvent {
  event: string;
  id: string | null;
  data: any;
}

export interface Stream {
  status: number;
  events: StreamEvent[];
  /** The first event (from the start of the stream) that matches, waiting for it. */
  next(match?: (e: StreamEvent) => boolean, timeout?: number): Promise<StreamEvent>;
  close(): void;
}

export async function openStream(url: string, headers: Record<string, string> = {}): Promise<Stream> {
  const abort = new AbortController();
  const res = await fetch(`${url}/api/notifications/stream`, { headers, signal: abort.signal });
  const events: StreamEvent[] = [];
  if (res.ok && res.body) {
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let event = 'message';
            let id: string | null = null;
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) continue;
              const [field, ...rest] = line.split(':');
              const value = rest.join(':').replace(/^ /, '');
              if (field === 'event') event = value;
              else if (field === 'id') id = value;
              else if (field === 'data') data.push(value);
            }
            if (data.length) events.push({ event, id, data: JSON.parse(data.join('\n')) });
          }
        }
      } catch {
        /* closed */
      }
    })();
  }
  return {
    status: res.status,
    events,
    next: (match = () => true, timeout = 15_000) =>
      waitFor(() => events.find(match), { timeout, message: 'an event on the stream' }),
    close: () => abort.abort(),
  };
}
