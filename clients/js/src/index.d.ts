// Types of @sluice/client (see README.md).

export type TransportName = 'websocket' | 'sse' | 'poll';

export const TRANSPORTS: readonly TransportName[];

export interface Backoff {
  /** First ceiling in milliseconds (default 500). */
  base?: number;
  /** Largest ceiling in milliseconds (default 30000). */
  cap?: number;
}

export const DEFAULT_BACKOFF: Readonly<Required<Backoff>>;

/** Full jitter: a random delay in [0, min(cap, base * 2^attempt)). */
export function backoffDelay(attempt: number, backoff?: Backoff, random?: () => number): number;

/** MQTT topic filter matching ('+', '#', '$' topics). */
export function matches(filter: string, topic: string): boolean;

export interface ClientOptions {
  /** Transports to try, best first (default ['websocket', 'sse', 'poll']). */
  transports?: TransportName[];
  backoff?: Backoff;
  /** While on SSE or long-polling, try a WebSocket again this often, in ms (default 30000; 0: never). */
  upgradeInterval?: number;
  /** Give up on a WebSocket that has not completed its MQTT CONNECT within this many ms (default 10000). */
  connectTimeout?: number;
  /** MQTT 5 Session Expiry Interval in seconds, for continuity across WebSocket reconnections (default 300). */
  sessionExpiry?: number;
  /** Times a POST /publish answered 503 is sent again after its Retry-After (default 5). */
  publishRetries?: number;
  /** MQTT client id (default: random). */
  clientId?: string;
  username?: string;
  password?: string;
  /** A bearer token: the MQTT password, Authorization: Bearer, ?token= for EventSource. */
  token?: string;
  /** 'json' for the full envelope (QoS and MQTT 5 properties) on SSE and long-polling. */
  envelope?: 'compact' | 'json';
  /**
   * Ask the broker for deltas (default true): after a first whole message per topic, messages travel as Fossil
   * deltas against the previous one and are decoded here, so callbacks always get whole payloads.
   */
  delta?: boolean;
}

export interface Message {
  topic: string;
  payload: Uint8Array;
  /** The payload decoded as UTF-8. */
  readonly text: string;
  retained: boolean;
  qos: number;
  /** Its position (SSE and long-polling), null over MQTT. */
  id: string | null;
  transport: TransportName;
  properties?: Record<string, unknown>;
}

export interface ClientEvents {
  transport: TransportName;
  reconnecting: { attempt: number; delay: number | null };
  reset: { reason: string; id?: string };
  error: Error;
}

export class SluiceClient {
  constructor(url: string, options?: ClientOptions);
  readonly clientId: string;
  /** The transport in use, null while connecting. */
  readonly transport: TransportName | null;
  on<K extends keyof ClientEvents>(type: K, listener: (value: ClientEvents[K]) => void): this;
  off<K extends keyof ClientEvents>(type: K, listener: (value: ClientEvents[K]) => void): this;
  /** Returns a function that unsubscribes this callback. */
  subscribe(filter: string, onMessage: (message: Message) => void): () => void;
  unsubscribe(filter: string, onMessage?: (message: Message) => void): void;
  publish(topic: string, payload: string | Uint8Array | ArrayBuffer | object,
          options?: { qos?: 0 | 1; retain?: boolean }): Promise<void>;
  close(): void;
}

export default SluiceClient;
