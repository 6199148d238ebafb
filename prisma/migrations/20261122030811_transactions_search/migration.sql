-- AlterTable
ALTER TABLE "transactions" ADD COLUMN     "search_vector" tsvector;

-- CreateIndex
CREATE INDEX "transactions_search_vector_idx" ON "transactions" USING GIN ("search_vector");

-- A trigger keeps search_vector current (a generated column would read as a default to Prismas
-- A trigger keeps search_vector current (a generated column would read as a default to the
-- drift check). Transactions are written only by post_transaction(); the trigger covers it too.
CREATE FUNCTION "transactions_search_vector_refresh"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."search_vector" := to_tsvector('english', coalesce(NEW."description", ''));
  RETURN NEW;
END
$$;

CREATE TRIGGER "transactions_search_vector"
  BEFORE INSERT OR UPDATE OF "description" ON "transactions"
  FOR EACH ROW EXECUTE FUNCTION "transactions_search_vector_refresh"();

-- Rows written before this migration.
UPDATE "transactions" SET "search_vector" = to_tsvector('english', coalesce("description", ''));
