/** The WebSocket messages of spec §5.2 as the service sends them (prices and sizes as exact strings). */

/** [price in dollars, size in contracts], e.g. ["0.6555", "12.50"]. */
export type Level = [string, string];

export interface OrderbookUpdate {
  type: "orderbook_update";
  data: {
    market_ticker: string;
    timestamp: number;
    yes_bids: Level[];
    yes_asks: Level[];
    no_bids: Level[];
    no_asks: Level[];
    spread_yes: string | null;
    spread_no: string | null;
    mid_yes: number | null;
    mid_no: number | null;
    stale: boolean;
    sequence: number;
  };
}

export interface ActionMessage {
  type: "action";
  data: {
    timestamp: number;
    market_ticker: string;
    action: string;
    details: { side: string | null; price: string | number | null; quantity: string | number | null; order_type: string | null };
    state: { position: string; avg_price: number; unrealized_pnl: number };
    confidence: number;
    model: string | null;
    executed: boolean;
  };
}

export interface HoldMessage {
  type: "hold";
  data: { timestamp: number; market_ticker: string; reason: string; skipped_stale: number; model: string | null; breaker?: string | null };
}

export interface TrainingProgressMessage {
  type: "training_progress";
  data: {
    episode: number;
    total_episodes: number;
    avg_reward: number;
    loss: number | null;
    learning_rate: number;
    timesteps_so_far: number;
    total_timesteps: number;
    model_id: string;
  };
}

export interface StreamError {
  type: "error";
  data: { code: string; message: string };
}
