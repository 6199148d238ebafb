-- CreateEnum
CREATE TYPE "UploadStatus" AS ENUM ('pending', 'completed');

-- AlterTable
ALTER TABLE "users" ADD COLUMN     "deleted_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "uploads" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "file_name" TEXT NOT NULL,
    "content_type" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "status" "UploadStatus" NOT NULL DEFAULT 'pending',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(3),
    "search_vector" tsvector,

    CONSTRAINT "uploads_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "user_activity" (
    "user_id" UUID NOT NULL,
    "day" DATE NOT NULL,

    CONSTRAINT "user_activity_pkey" PRIMARY KEY ("day","user_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "uploads_key_key" ON "uploads"("key");

-- CreateIndex
CREATE INDEX "uploads_user_id_created_at_id_idx" ON "uploads"("user_id", "created_at" DESC, "id");

-- CreateIndex
CREATE INDEX "uploads_search_vector_idx" ON "uploads" USING GIN ("search_vector");

-- CreateIndex
CREATE INDEX "user_activity_user_id_idx" ON "user_activity"("user_id");

-- AddForeignKey
ALTER TABLE "uploads" ADD CONSTRAINT "uploads_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "user_activity" ADD CONSTRAINT "user_activity_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Full-text search over file names. A trigger (not a generated column) keeps search_vector current:
-- Prisma reads a generation expression as a column default, so a generated column would always
-- show as drift. Separators common in file names become spaces so "q3_report-final.pdf" yields
-- the words q3, report, final and pdf.
CREATE FUNCTION "uploads_search_vector_refresh"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."search_vector" := to_tsvector('english', regexp_replace(NEW."file_name", '[._/\\-]+', ' ', 'g'));
  RETURN NEW;
END
$$;

CREATE TRIGGER "uploads_search_vector"
  BEFORE INSERT OR UPDATE OF "file_name" ON "uploads"
  FOR EACH ROW EXECUTE FUNCTION "uploads_search_vector_refresh"();
