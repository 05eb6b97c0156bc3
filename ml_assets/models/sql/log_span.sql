SELECT min(order_ts)::DATE, max(order_ts)::DATE FROM transactions
