-- CreateEnum
CREATE TYPE "TransactionType" AS ENUM ('deposit', 'withdrawal', 'transfer');

-- CreateTable
CREATE TABLE "accounts" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "name" TEXT,
    "balance" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "transactions" (
    "id" UUID NOT NULL,
    "type" "TransactionType" NOT NULL,
    "amount" BIGINT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "from_account_id" UUID,
    "to_account_id" UUID,
    "from_user_id" UUID,
    "to_user_id" UUID,
    "description" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "transactions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "idempotency_keys" (
    "user_id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "status_code" INTEGER NOT NULL,
    "response" JSONB NOT NULL,
    "transaction_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "idempotency_keys_pkey" PRIMARY KEY ("user_id","key")
);

-- CreateTable
CREATE TABLE "outbox_events" (
    "id" BIGSERIAL NOT NULL,
    "user_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "notifications" (
    "id" BIGSERIAL NOT NULL,
    "user_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "read_at" TIMESTAMPTZ(3),

    CONSTRAINT "notifications_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "accounts_user_id_created_at_idx" ON "accounts"("user_id", "created_at");

-- CreateIndex
CREATE INDEX "transactions_from_user_id_created_at_id_idx" ON "transactions"("from_user_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "transactions_to_user_id_created_at_id_idx" ON "transactions"("to_user_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "transactions_from_account_id_created_at_idx" ON "transactions"("from_account_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "transactions_to_account_id_created_at_idx" ON "transactions"("to_account_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "idempotency_keys_created_at_idx" ON "idempotency_keys"("created_at");

-- CreateIndex
CREATE INDEX "notifications_user_id_id_idx" ON "notifications"("user_id", "id");

-- AddForeignKey
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transactions" ADD CONSTRAINT "transactions_from_account_id_fkey" FOREIGN KEY ("from_account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transactions" ADD CONSTRAINT "transactions_to_account_id_fkey" FOREIGN KEY ("to_account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Money movement in one round trip: post_transaction() checks, claims the idempotency key, moves
-- the balances and writes the transaction and its outbox events, all inside the caller's single
-- statement (so one implicit database transaction). Business refusals return an outcome instead
-- of raising, and happen before anything is written, so a refused request leaves no trace.
-- Prisma does not model functions, so the drift check ignores it.

CREATE FUNCTION post_transaction(
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
  v_id uuid := gen_random_uuid();
  -- Truncated like the column, so the stored answer and later reads show the same instant.
  v_created timestamptz := date_trunc('milliseconds', now());
  v_body jsonb;
  v_claimed integer;
  v_event jsonb;
BEGIN
  SELECT * INTO v_key FROM idempotency_keys WHERE user_id = p_user_id AND key = p_key;
  IF FOUND THEN
    RETURN jsonb_build_object('outcome', CASE WHEN v_key.request_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END,
                              'status', v_key.status_code, 'body', v_key.response);
  END IF;

  -- Lock both accounts in id order: opposite transfers between two accounts cannot deadlock.
  PERFORM 1 FROM accounts WHERE id IN (p_from, p_to) ORDER BY id FOR UPDATE;

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
    -- Deposits go to one's own account; transfers may go to anybody's.
    IF NOT FOUND OR (p_type = 'deposit' AND v_to.user_id <> p_user_id) THEN
      RETURN jsonb_build_object('outcome', 'account_not_found', 'field', 'toAccountId');
    END IF;
    IF v_to.currency <> p_currency THEN
      RETURN jsonb_build_object('outcome', 'currency_mismatch', 'field', 'toAccountId');
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
  IF p_type = 'deposit' THEN
    INSERT INTO outbox_events (user_id, type, payload, created_at) VALUES (v_to.user_id, 'deposit.received', v_event, v_created);
  ELSIF p_type = 'withdrawal' THEN
    INSERT INTO outbox_events (user_id, type, payload, created_at) VALUES (v_from.user_id, 'withdrawal.completed', v_event, v_created);
  ELSE
    INSERT INTO outbox_events (user_id, type, payload, created_at)
    VALUES (v_from.user_id, 'transfer.out', v_event, v_created), (v_to.user_id, 'transfer.in', v_event, v_created);
  END IF;

  RETURN jsonb_build_object('outcome', 'created', 'status', 201, 'body', v_body);
END;
$$;
