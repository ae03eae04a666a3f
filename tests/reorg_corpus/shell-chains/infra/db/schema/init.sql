CREATE TABLE accounts (id serial primary key);
