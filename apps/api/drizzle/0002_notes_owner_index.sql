--! no-transaction
CREATE INDEX CONCURRENTLY IF NOT EXISTS "notes_owner_created_at_id_idx" ON "notes" USING btree ("owner","created_at","id");
