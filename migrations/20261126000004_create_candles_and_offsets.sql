-- migrate:up
-- Closed candles older than what Redis keeps (the candle aggregator writes every closed candle here).
CREATE TABLE candles (
  symbol       text NOT NULL,
  timeframe    text NOT NULL,
  source       text NOT NULL DEFAULT 'trade',
  open_time    timestamptz NOT NULL,
  open         numeric(38, 18) NOT NULL,
  high         numeric(38, 18) NOT NULL,
  low          numeric(38, 18) NOT NULL,
  close        numeric(38, 18) NOT NULL,
  volume       numeric(38, 18) NOT NULL,
  quote_volume numeric(38, 18) NOT NULL,
  trades       integer NOT NULL,
  PRIMARY KEY (symbol, timeframe, source, open_time)
);

-- Where each consumer has got to in each stream, written in the same transaction as the rows it
-- came with (for lag reports and audits; the consumer group stays the source of truth for delivery).
-- last_ms/last_seq are the two parts of last_id, so "only move forward" is a plain comparison.
CREATE TABLE consumer_offsets (
  consumer   text NOT NULL,
  stream     text NOT NULL,
  last_id    text NOT NULL,
  last_ms    bigint NOT NULL DEFAULT 0,
  last_seq   bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, stream)
);

-- migrate:down
DROP TABLE consumer_offsets;
DROP TABLE candles;
