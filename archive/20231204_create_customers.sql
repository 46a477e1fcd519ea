-- Customers: the people who open tickets.
CREATE TABLE customers (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	email       text NOT NULL,
	full_name   text NOT NULL,
	company     text,
	created_at  timestamptz NOT NULL DEFAULT now()
);

-- one account per address, whatever its case
CREATE UNIQUE INDEX customers_email_key ON customers (lower(email));
