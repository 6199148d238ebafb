-- post_transaction() refuses a sender erased meanwhile (features/gdpr/erase.ts). The erasure locks
-- the user's accounts before it clears what transfers leave behind, so a transfer of theirs that was
-- in flight commits first and is cleared with the rest; one that waited for those locks ran after the
-- erasure had committed and kept its description, idempotency record and events. The same function
-- otherwise, replaced in place: old and new releases call it with the same arguments.
CREATE OR REPLACE FUNCTION public.post_transaction(p_user_id uuid, p_key text, p_request_hash text, p_type "TransactionType", p_amount bigint, p_currency text, p_from uuid, p_to uuid, p_description text)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
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
    -- The sender erased meanwhile: a request authenticated before the erasure revoked its session
    -- waited for the account lock the erasure held, and must not write data of theirs after it.
    -- No lock needed: the erasure locks the sender's accounts, which we hold now.
    IF (SELECT u.deleted_at FROM users u WHERE u.id = p_user_id) IS NOT NULL THEN
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
$function$;
