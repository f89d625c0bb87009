-- What a clients search matches, kept up to date on every write so that a search is one
-- query: the organisation, contact names and e-mails in lower case, separated by U+001F,
-- and the digits of every phone. Filled for older rows when the catalog opens.
ALTER TABLE clients ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN search_digits TEXT NOT NULL DEFAULT '';
