-- The outbox relay's run in one round trip (features/notifications/relay.ts). Before this, a run
-- was an interactive transaction: BEGIN, the advisory lock, the move, COMMIT, four waits for a batch
-- that is a handful of events under load, and the relay halved the transfer route's throughput in
-- the bench. Expand only: a new function; a release that does not call it runs its own statements
-- under the same lock, so old and new instances still take turns.
--
-- The lock comes first and the move is a statement of its own: in READ COMMITTED each statement of
-- a function takes a fresh snapshot, so a run that waited for the lock sees what the run before it
-- committed, and draws its notification ids after that run's (ids grow in commit order, which
-- Last-Event-ID replay relies on). Each row comes back as the message the relay publishes
-- (features/notifications/message.ts, the wire shape), built here: the service only forwards it.
CREATE FUNCTION relay_outbox(p_lock_key bigint, p_limit integer)
RETURNS TABLE (user_id uuid, type text, message text)
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(p_lock_key);
  RETURN QUERY
  WITH batch AS (
    SELECT o.id, o.user_id, o.type, o.payload, o.created_at FROM outbox_events o
    ORDER BY o.id LIMIT p_limit
    FOR UPDATE SKIP LOCKED
  ), gone AS (
    DELETE FROM outbox_events o USING batch b WHERE o.id = b.id
  )
  -- An event of a user erased meanwhile is dropped with the batch: there is nobody to notify.
  INSERT INTO notifications (user_id, type, payload, created_at)
  SELECT b.user_id, b.type, b.payload, b.created_at FROM batch b
  WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = b.user_id)
  ORDER BY b.id
  RETURNING notifications.user_id, notifications.type, json_build_object(
    'id', notifications.id::text, 'userId', notifications.user_id, 'type', notifications.type,
    'payload', notifications.payload,
    'createdAt', to_char(notifications.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'readAt', notifications.read_at)::text;
END;
$$;
