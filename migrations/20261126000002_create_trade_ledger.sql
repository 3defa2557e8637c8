-- migrate:up
-- The original Kalency columns (trade_id, symbol, buy_user_id, sell_user_id, price, qty, executed_at),
-- with buyer and seller the right way round and exact NUMERIC money, plus what a ledger needs.
CREATE TABLE trade_ledger (
  trade_id       text PRIMARY KEY,
  symbol         text NOT NULL,
  buy_user_id    text NOT NULL,
  sell_user_id   text NOT NULL,
  price          numeric(38, 18) NOT NULL,
  qty            numeric(38, 18) NOT NULL,
  executed_at    timestamptz NOT NULL,
  seq            bigint NOT NULL,
  quote_qty      numeric(38, 18) NOT NULL,
  buy_order_id   text NOT NULL,
  sell_order_id  text NOT NULL,
  maker_order_id text NOT NULL,
  taker_order_id text NOT NULL,
  taker_side     text NOT NULL CHECK (taker_side IN ('BUY', 'SELL')),
  maker_fee      numeric(38, 18) NOT NULL DEFAULT 0,
  taker_fee      numeric(38, 18) NOT NULL DEFAULT 0,
  fee_asset      text NOT NULL,
  stream_id      text NOT NULL,
  UNIQUE (symbol, seq)
);
CREATE INDEX trade_ledger_symbol_time_idx ON trade_ledger (symbol, executed_at DESC);
CREATE INDEX trade_ledger_buyer_time_idx ON trade_ledger (buy_user_id, executed_at DESC);
CREATE INDEX trade_ledger_seller_time_idx ON trade_ledger (sell_user_id, executed_at DESC);

-- Double-entry postings: every trade and fee posts amounts whose sum per (ref, asset) is zero, so a
-- user's balance at any time is a SUM over their postings.
CREATE TABLE balance_postings (
  posting_id bigserial PRIMARY KEY,
  ref        text NOT NULL,
  account    text NOT NULL,
  asset      text NOT NULL,
  amount     numeric(38, 18) NOT NULL,
  kind       text NOT NULL,
  posted_at  timestamptz NOT NULL,
  UNIQUE (ref, account, asset, kind)
);
CREATE INDEX balance_postings_account_idx ON balance_postings (account, asset, posted_at);

-- migrate:down
DROP TABLE balance_postings;
DROP TABLE trade_ledger;
