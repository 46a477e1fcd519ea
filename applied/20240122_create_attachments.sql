-- Files attached to a ticket or to one of its comments.  The bytes live in
-- object storage under storage_key; the row keeps what the UI shows and a
-- checksum to spot duplicate uploads.
CREATE TABLE attachments (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ticket_id     bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	comment_id    bigint REFERENCES ticket_comments (id) ON DELETE CASCADE,
	uploaded_by   bigint NOT NULL REFERENCES users (id),
	file_name     text NOT NULL CHECK (file_name <> '' AND file_name NOT LIKE '%/%'),
	content_type  text NOT NULL DEFAULT 'application/octet-stream',
	byte_size     bigint NOT NULL CHECK (byte_size BETWEEN 1 AND 26214400), -- 25 MiB
	sha256        bytea NOT NULL CHECK (length(sha256) = 32),
	storage_key   text NOT NULL UNIQUE,
	created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX attachments_ticket_id_idx ON attachments (ticket_id);
CREATE INDEX attachments_comment_id_idx ON attachments (comment_id) WHERE comment_id IS NOT NULL;
CREATE INDEX attachments_sha256_idx ON attachments (sha256);

COMMENT ON TABLE attachments IS 'Uploaded files; the content is in object storage, not here.';
