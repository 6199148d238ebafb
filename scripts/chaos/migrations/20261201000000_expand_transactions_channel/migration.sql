-- migrate: no-transaction
-- Expand step of an expand/contract change (docs/migrations.md): a nullable column old code never
-- reads or writes, and its index built without blocking writes. Applied by `npm run chaos` to its
-- scratch database only, while the old instances keep serving.
ALTER TABLE "transactions" ADD COLUMN IF NOT EXISTS "channel" TEXT;
CREATE INDEX CONCURRENTLY IF NOT EXISTS "transactions_channel_idx" ON "transactions" ("channel");
