-- Undo 20231204_create_customers.sql (the index goes with the table).
DROP TABLE customers;
