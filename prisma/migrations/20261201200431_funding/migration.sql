-- CreateEnum
CREATE TYPE "FundingSource" AS ENUM ('provider', 'treasury');

-- CreateTable
CREATE TABLE "fundings" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "source" "FundingSource" NOT NULL,
    "event_id" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "account_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "amount" BIGINT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "transaction_id" UUID NOT NULL,
    "actor_id" UUID,
    "reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "fundings_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "fundings_user_id_created_at_idx" ON "fundings"("user_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "fundings_source_event_id_key" ON "fundings"("source", "event_id");

-- AddForeignKey
ALTER TABLE "fundings" ADD CONSTRAINT "fundings_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Money enters the ledger only here (docs/api-transactions.md, "Funding"): a payment provider's
-- signed webhook or an admin's treasury operation. post_funding() does in one statement what
-- post_transaction() does for transfers: replay check, limits, balance, transaction row, outbox
-- event and the funding row (the replay guard and the audit record), all or nothing.
-- Refusals return an outcome before anything is written. Prisma does not model functions.
CREATE FUNCTION post_funding(
  p_source "FundingSource",
  p_event_id text,
  p_request_hash text,
  p_account uuid,
  p_amount bigint,
  p_currency text,
  p_description text,
  p_actor uuid,
  p_reason text,
  p_max_amount bigint,
  p_daily_limit bigint
) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
  v_seen fundings%ROWTYPE;
  v_account accounts%ROWTYPE;
  v_deleted timestamptz;
  v_today numeric;
  v_id uuid := gen_random_uuid();
  v_created timestamptz := date_trunc('milliseconds', now());
  v_body jsonb;
  v_claimed integer;
BEGIN
  SELECT * INTO v_seen FROM fundings WHERE source = p_source AND event_id = p_event_id;
  IF FOUND THEN
    RETURN funding_replay(v_seen, p_request_hash);
  END IF;
  IF p_amount > p_max_amount THEN
    RETURN jsonb_build_object('outcome', 'amount_limit');
  END IF;

  -- Account, then owner: the order erasure and post_transaction() take them in, so no deadlock.
  -- The owner's row lock serializes this user's fundings (the daily sum) against each other and
  -- against an erasure running at the same time.
  SELECT * INTO v_account FROM accounts WHERE id = p_account FOR UPDATE;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('outcome', 'account_not_found');
  END IF;
  SELECT deleted_at INTO v_deleted FROM users WHERE id = v_account.user_id FOR NO KEY UPDATE;
  -- A redelivery of this event may have committed while we waited: replay it, before any limit.
  SELECT * INTO v_seen FROM fundings WHERE source = p_source AND event_id = p_event_id;
  IF FOUND THEN
    RETURN funding_replay(v_seen, p_request_hash);
  END IF;
  IF v_deleted IS NOT NULL THEN
    RETURN jsonb_build_object('outcome', 'account_not_found');
  END IF;
  IF v_account.currency <> p_currency THEN
    RETURN jsonb_build_object('outcome', 'currency_mismatch');
  END IF;
  SELECT coalesce(sum(amount), 0) INTO v_today FROM fundings
  WHERE user_id = v_account.user_id AND created_at >= date_trunc('day', now(), 'UTC');
  IF v_today + p_amount > p_daily_limit THEN
    RETURN jsonb_build_object('outcome', 'daily_limit');
  END IF;
  IF v_account.balance > 9223372036854775807 - p_amount THEN
    RETURN jsonb_build_object('outcome', 'balance_limit');
  END IF;

  -- Claim the event. A concurrent delivery of the same event waits here for the first to commit,
  -- then finds its row and replays it.
  INSERT INTO fundings (source, event_id, request_hash, account_id, user_id, amount, currency, transaction_id, actor_id, reason, created_at)
  VALUES (p_source, p_event_id, p_request_hash, p_account, v_account.user_id, p_amount, p_currency, v_id, p_actor, p_reason, v_created)
  ON CONFLICT (source, event_id) DO NOTHING;
  GET DIAGNOSTICS v_claimed = ROW_COUNT;
  IF v_claimed = 0 THEN
    SELECT * INTO v_seen FROM fundings WHERE source = p_source AND event_id = p_event_id;
    RETURN funding_replay(v_seen, p_request_hash);
  END IF;

  UPDATE accounts SET balance = balance + p_amount, updated_at = v_created WHERE id = p_account;
  INSERT INTO transactions (id, type, amount, currency, from_account_id, to_account_id, from_user_id, to_user_id, description, created_at)
  VALUES (v_id, 'deposit', p_amount, p_currency, NULL, p_account, NULL, v_account.user_id, p_description, v_created);
  INSERT INTO outbox_events (user_id, type, payload, created_at)
  VALUES (v_account.user_id, 'deposit.received',
          jsonb_build_object('transactionId', v_id, 'amount', p_amount::text, 'currency', p_currency,
                             'fromAccountId', NULL, 'toAccountId', p_account, 'description', p_description),
          v_created);

  v_body := funding_body(v_id);
  RETURN jsonb_build_object('outcome', 'created', 'body', v_body, 'userId', v_account.user_id);
END;
$$;

-- The answer a funding gives: its deposit transaction, as GET /v1/transactions/:id shows it.
CREATE FUNCTION funding_body(p_transaction uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
  SELECT jsonb_build_object('transaction', jsonb_build_object(
    'id', t.id, 'type', t.type, 'amount', t.amount::text, 'currency', t.currency,
    'fromAccountId', t.from_account_id, 'toAccountId', t.to_account_id, 'description', t.description,
    'createdAt', to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
  FROM transactions t WHERE t.id = p_transaction
$$;

-- A second delivery of an event: the first answer again when it is the same request, else a conflict.
CREATE FUNCTION funding_replay(p_seen fundings, p_request_hash text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
  SELECT CASE WHEN p_seen.request_hash = p_request_hash
    THEN jsonb_build_object('outcome', 'replayed', 'body', funding_body(p_seen.transaction_id))
    ELSE jsonb_build_object('outcome', 'event_conflict') END
$$;

-- Transfers after the funding path: no deposits through here any more (money would come from
-- nowhere); a foreign destination that is missing, erased or in another currency gets one and the
-- same answer (nothing about a stranger's account leaks); a balance never overflows bigint.
CREATE OR REPLACE FUNCTION post_transaction(
  p_user_id uuid,
  p_key text,
  p_request_hash text,
  p_type "TransactionType",
  p_amount bigint,
  p_currency text,
  p_from uuid,
  p_to uuid,
  p_description text
) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
  v_key idempotency_keys%ROWTYPE;
  v_from accounts%ROWTYPE;
  v_to accounts%ROWTYPE;
  v_to_erased boolean;
  v_id uuid := gen_random_uuid();
  v_created timestamptz := date_trunc('milliseconds', now());
  v_body jsonb;
  v_claimed integer;
  v_event jsonb;
BEGIN
  IF p_type = 'deposit' THEN
    RETURN jsonb_build_object('outcome', 'deposit_not_allowed');
  END IF;

  SELECT * INTO v_key FROM idempotency_keys WHERE user_id = p_user_id AND key = p_key;
  IF FOUND THEN
    RETURN jsonb_build_object('outcome', CASE WHEN v_key.request_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END,
                              'status', v_key.status_code, 'body', v_key.response);
  END IF;

  -- Lock both accounts in id order: opposite transfers between two accounts cannot deadlock.
  PERFORM 1 FROM accounts WHERE id IN (p_from, p_to) ORDER BY id FOR UPDATE;
  -- A twin with the same key may have committed while we waited for the locks: answer its result
  -- (a fresh snapshot sees it) rather than judging the balance it already moved.
  SELECT * INTO v_key FROM idempotency_keys WHERE user_id = p_user_id AND key = p_key;
  IF FOUND THEN
    RETURN jsonb_build_object('outcome', CASE WHEN v_key.request_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END,
                              'status', v_key.status_code, 'body', v_key.response);
  END IF;

  IF p_from IS NOT NULL THEN
    SELECT * INTO v_from FROM accounts WHERE id = p_from;
    IF NOT FOUND OR v_from.user_id <> p_user_id THEN
      RETURN jsonb_build_object('outcome', 'account_not_found', 'field', 'fromAccountId');
    END IF;
    IF v_from.currency <> p_currency THEN
      RETURN jsonb_build_object('outcome', 'currency_mismatch', 'field', 'fromAccountId');
    END IF;
    IF v_from.balance < p_amount THEN
      RETURN jsonb_build_object('outcome', 'insufficient_funds', 'field', 'fromAccountId');
    END IF;
  END IF;
  IF p_to IS NOT NULL THEN
    SELECT * INTO v_to FROM accounts WHERE id = p_to;
    IF NOT FOUND THEN
      RETURN jsonb_build_object('outcome', 'account_not_found', 'field', 'toAccountId');
    END IF;
    -- Shares the owner's row with an erasure running now: it commits first or waits for us.
    SELECT deleted_at IS NOT NULL INTO v_to_erased FROM users WHERE id = v_to.user_id FOR SHARE;
    IF v_to.user_id <> p_user_id AND (v_to_erased OR v_to.currency <> p_currency) THEN
      RETURN jsonb_build_object('outcome', 'account_not_found', 'field', 'toAccountId');
    END IF;
    IF v_to.currency <> p_currency THEN
      RETURN jsonb_build_object('outcome', 'currency_mismatch', 'field', 'toAccountId');
    END IF;
    IF v_to.balance > 9223372036854775807 - p_amount THEN
      RETURN jsonb_build_object('outcome', 'balance_limit', 'field', 'toAccountId');
    END IF;
  END IF;

  v_body := jsonb_build_object('transaction', jsonb_build_object(
    'id', v_id,
    'type', p_type,
    'amount', p_amount::text,
    'currency', p_currency,
    'fromAccountId', p_from,
    'toAccountId', p_to,
    'description', p_description,
    'createdAt', to_char(v_created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')));

  -- Claim the key. A concurrent request with the same key waits here for the first to commit,
  -- then finds its row and replays its answer.
  INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, response, transaction_id, created_at)
  VALUES (p_user_id, p_key, p_request_hash, 201, v_body, v_id, v_created)
  ON CONFLICT (user_id, key) DO NOTHING;
  GET DIAGNOSTICS v_claimed = ROW_COUNT;
  IF v_claimed = 0 THEN
    SELECT * INTO v_key FROM idempotency_keys WHERE user_id = p_user_id AND key = p_key;
    RETURN jsonb_build_object('outcome', CASE WHEN v_key.request_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END,
                              'status', v_key.status_code, 'body', v_key.response);
  END IF;

  IF p_from IS NOT NULL THEN
    UPDATE accounts SET balance = balance - p_amount, updated_at = v_created WHERE id = p_from;
  END IF;
  IF p_to IS NOT NULL THEN
    UPDATE accounts SET balance = balance + p_amount, updated_at = v_created WHERE id = p_to;
  END IF;

  INSERT INTO transactions (id, type, amount, currency, from_account_id, to_account_id, from_user_id, to_user_id, description, created_at)
  VALUES (v_id, p_type, p_amount, p_currency, p_from, p_to, v_from.user_id, v_to.user_id, p_description, v_created);

  v_event := jsonb_build_object('transactionId', v_id, 'amount', p_amount::text, 'currency', p_currency,
                                'fromAccountId', p_from, 'toAccountId', p_to, 'description', p_description);
  IF p_type = 'withdrawal' THEN
    INSERT INTO outbox_events (user_id, type, payload, created_at) VALUES (v_from.user_id, 'withdrawal.completed', v_event, v_created);
  ELSE
    INSERT INTO outbox_events (user_id, type, payload, created_at)
    VALUES (v_from.user_id, 'transfer.out', v_event, v_created), (v_to.user_id, 'transfer.in', v_event, v_created);
  END IF;

  RETURN jsonb_build_object('outcome', 'created', 'status', 201, 'body', v_body);
END;
$$;
