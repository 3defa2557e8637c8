-- migrate:up
-- The latest state of every order, from stream:order-events. `version` is the stream position of
-- the last event applied (zero-padded "ms-seq"), so a redelivered older event never moves an order back.
CREATE TABLE orders (
  order_id        text PRIMARY KEY,
  client_order_id text,
  user_id         text NOT NULL,
  symbol          text NOT NULL,
  side            text NOT NULL,
  type            text NOT NULL,
  time_in_force   text NOT NULL,
  price           numeric(38, 18),
  qty             numeric(38, 18) NOT NULL,
  quote_qty       numeric(38, 18),
  filled_qty      numeric(38, 18) NOT NULL DEFAULT 0,
  filled_quote    numeric(38, 18) NOT NULL DEFAULT 0,
  avg_price       numeric(38, 18) NOT NULL DEFAULT 0,
  status          text NOT NULL,
  expire_reason   text,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  version         text NOT NULL
);
CREATE INDEX orders_user_time_idx ON orders (user_id, created_at DESC);

-- Every order event as published (the OrderAck after it in `body`).
CREATE TABLE order_events (
  stream_id text PRIMARY KEY,
  order_id  text NOT NULL,
  event     text NOT NULL,
  status    text NOT NULL,
  trade_id  text,
  at        timestamptz NOT NULL,
  body      jsonb NOT NULL
);
CREATE INDEX order_events_order_idx ON order_events (order_id);

-- migrate:down
DROP TABLE order_events;
DROP TABLE orders;
