-- Comments on a ticket, by an agent or by the customer (exactly one of them).
CREATE TABLE comments (
	id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ticket_id           bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	author_agent_id     bigint REFERENCES agents (id),
	author_customer_id  bigint REFERENCES customers (id),
	body                text NOT NULL,
	internal            boolean NOT NULL DEFAULT false, -- agents only; never shown to the customer
	created_at          timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT comments_one_author CHECK (num_nonnulls(author_agent_id, author_customer_id) = 1),
	CONSTRAINT comments_internal_by_agent CHECK (NOT internal OR author_agent_id IS NOT NULL)
);

CREATE INDEX comments_ticket_id_idx ON comments (ticket_id, created_at);
