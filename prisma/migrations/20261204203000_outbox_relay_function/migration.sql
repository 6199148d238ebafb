-- The outbox relay's run in one round trip (features/notifications/relay.ts). Before this, a run
-- was an interactive transaction: BEGIN, the advisory lock, the move, COMMIT, four waits for a batch
-- that is a handful of events under load, and the relay halved the transfer route's throughput in
-- the bench. Expand only: a new function; a release that does not call it runs its own statements
-- under the same lock, so old and new instances still take turns.
--
-- The lock comes first and the move is a statement of its own: in READ COMMITTED each statement of
-- a (volatile) function takes a fresh snapshot, so a run that waited for the lock sees what the run
-- before it committed, and draws its notification ids after that run's (ids grow in commit order,
-- which Last-Event-ID replay relies on). An erasure takes the same lock (features/gdpr/erase.ts).
--
-- Rows come back in id order, each as the message the relay publishes (the wire shape of
-- features/notifications/message.ts), built here: the service only forwards it. An event whose
-- user is gone or erased is claimed and dropped: it comes back with a null message, so the caller
-- still counts a full batch as "more may be waiting".
CREATE FUNCTION relay_outbox(p_lock_key bigint, p_limit integer)
RETURNS TABLE (id bigint, user_id uuid, type text, message text)
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(p_lock_key);
  RETURN QUERY
  WITH batch AS (
    SELECT o.id, o.user_id, o.type, o.payload, o.created_at,
           EXISTS (SELECT 1 FROM users u WHERE u.id = o.user_id AND u.deleted_at IS NULL) AS live
    FROM outbox_events o
    ORDER BY o.id LIMIT p_limit
    FOR UPDATE OF o SKIP LOCKED
  ), gone AS (
    DELETE FROM outbox_events o USING batch b WHERE o.id = b.id
  ), moved AS (
    INSERT INTO notifications (user_id, type, payload, created_at)
    SELECT b.user_id, b.type, b.payload, b.created_at FROM batch b WHERE b.live
    ORDER BY b.id
    RETURNING notifications.id, notifications.user_id, notifications.type, json_build_object(
      'id', notifications.id::text, 'userId', notifications.user_id, 'type', notifications.type,
      'payload', notifications.payload,
      'createdAt', to_char(notifications.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'readAt', notifications.read_at)::text
  )
  SELECT * FROM moved
  UNION ALL
  SELECT NULL::bigint, b.user_id, b.type, NULL::text FROM batch b WHERE NOT b.live
  ORDER BY 1 NULLS LAST;
END;
$$;
